package process

import (
	"fmt"
	"maps"
	"net/url"
	"slices"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
	"github.com/ordersaga/ordersaga/shared/hosted"
	"github.com/ordersaga/ordersaga/shared/httpapi"
)

// UpstreamRoles returns the roles whose process a process hosting orders
// can forward to: every role but orders, in the saga's order.
func UpstreamRoles() []hosted.Role {
	var roles []hosted.Role
	for _, r := range hosted.AllRoles() {
		if r != hosted.RoleOrders {
			roles = append(roles, r)
		}
	}
	return roles
}

// UpstreamFlag returns the name of the flag giving the base URL of role r's
// process ("inventory-url"); its environment variable is
// ORDERSAGA_<ROLE>_URL.
func UpstreamFlag(r hosted.Role) string { return string(r) + "-url" }

// upstreamVars lists the flags of the upstream processes' base URLs, one
// per role but orders; their values go to roleURLs.
func upstreamVars(roleURLs map[hosted.Role]*string) []envflag.Var {
	var vars []envflag.Var
	for _, r := range UpstreamRoles() {
		roleURLs[r] = new(string)
		what := "that service's REST endpoints and its part of /v1/admin/faults"
		if len(hosted.StepRoles([]hosted.Role{r})) == 0 {
			what = "that service's REST endpoints" // no step, no fault injector
		}
		vars = append(vars, envflag.Var{
			Name: UpstreamFlag(r),
			Usage: fmt.Sprintf("base `URL` (http://host:port) of the process hosting the %s service: a process hosting orders but not %s "+
				"forwards %s there, so it serves the whole API", r, r, what),
			Value: envflag.String(roleURLs[r]),
		})
	}
	return vars
}

// upstreamProblems reports the upstream URLs that cannot work: one that is
// not a base URL http(s)://host[:port], one given to a process not hosting
// orders (it would forward nothing), one for a role the process hosts
// itself.
func (c Config) upstreamProblems() []error {
	var out []error
	for _, r := range slices.Sorted(maps.Keys(c.UpstreamURLs)) {
		raw, name := c.UpstreamURLs[r], "-"+UpstreamFlag(r)
		switch {
		case !c.Hosts(hosted.RoleOrders):
			out = append(out, fmt.Errorf("%s is for a process hosting orders (it forwards the %s service's endpoints there); this one hosts %v", name, r, c.Roles))
		case c.Hosts(r):
			out = append(out, fmt.Errorf("%s names a process for the %s service, which this process hosts itself", name, r))
		}
		if _, err := parseBaseURL(raw); err != nil {
			out = append(out, fmt.Errorf("%s: %w", name, err))
		}
	}
	return out
}

// parseBaseURL reads the base URL of a process: http or https, a host, no
// path beyond "/", no query, fragment or credentials.
func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("the value is not a URL: %w", err)
	}
	shown := u.Redacted() // never a password in a message
	switch {
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, fmt.Errorf("%q is not http://host:port", shown)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "", u.User != nil:
		return nil, fmt.Errorf("%q is not a base URL: give http://host:port alone", shown)
	}
	u.Path = ""
	return u, nil
}

// Upstreams returns what the REST API of the process forwards where: the
// processes of UpstreamURLs by service. Validate has checked every URL; one
// that does not parse is left out.
func (c Config) Upstreams() httpapi.Upstreams {
	if len(c.UpstreamURLs) == 0 {
		return httpapi.Upstreams{}
	}
	services := make(map[string]*url.URL, len(c.UpstreamURLs))
	for r, raw := range c.UpstreamURLs {
		if u, err := parseBaseURL(raw); err == nil {
			services[string(r)] = u
		}
	}
	return httpapi.Upstreams{Services: services}
}
