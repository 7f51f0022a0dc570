// Package healthcheck is the client of `ordersaga healthcheck`: it GETs a
// health endpoint of a running ordersaga process and says whether it
// answered 2xx, so a container image without a shell or curl can run its
// own health checks. Its configuration, loaded from flags and the
// process's own HTTP address, is shared with the static checks of the
// deploy files, which load a health check's command line with it.
package healthcheck

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ordersaga/ordersaga/deploy/internal/envflag"
)

// AddrEnv is the environment variable of a process's HTTP listen address
// (the -http-addr flag of `ordersaga orchestrated|choreographed`); the
// default URL is built from it.
const AddrEnv = "ORDERSAGA_HTTP_ADDR"

// DefaultPort is the port probed when AddrEnv is not set: the port the
// container image exposes.
const DefaultPort = "8080"

// DefaultPath is the endpoint probed by default: readiness (the process's
// databases and Temporal or the broker answer).
const DefaultPath = "/readyz"

// DefaultTimeout bounds one probe by default: a little more than the 2 s
// the process gives its own readiness checks.
const DefaultTimeout = 3 * time.Second

// Config is what one health check probes.
type Config struct {
	// URL is the http:// or https:// address to GET.
	URL string
	// Timeout bounds the whole request, answer included.
	Timeout time.Duration
}

// DefaultConfig returns the defaults, reading AddrEnv through lookupEnv
// (os.LookupEnv, say): GET DefaultPath on the address the process listens
// on, or on 127.0.0.1:DefaultPort without one. An address that cannot be
// turned into a URL leaves URL empty and is the error.
func DefaultConfig(lookupEnv envflag.LookupEnv) (Config, error) {
	cfg := Config{Timeout: DefaultTimeout}
	addr, ok := lookupEnv(AddrEnv)
	if !ok || strings.TrimSpace(addr) == "" {
		addr = ":" + DefaultPort
	}
	u, err := URLFor(addr, DefaultPath)
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", AddrEnv, err)
	}
	cfg.URL = u
	return cfg, nil
}

// URLFor returns the URL of path on a process listening on listenAddr
// (host:port): a wildcard or empty host becomes the loopback address of
// its family, since a health check runs beside the process.
func URLFor(listenAddr, path string) (string, error) {
	host, port, err := net.SplitHostPort(strings.TrimSpace(listenAddr))
	if err != nil {
		return "", fmt.Errorf("%q is not host:port", listenAddr)
	}
	if port == "" || port == "0" {
		return "", fmt.Errorf("%q names no fixed port", listenAddr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return (&url.URL{Scheme: "http", Host: net.JoinHostPort(host, port), Path: path}).String(), nil
}

// Flags are the flags of a health check, bound to its configuration;
// Config completes it once the command line is parsed.
type Flags struct {
	fs     *flag.FlagSet
	cfg    Config
	envErr error
}

// Bind registers the flags of a health check on fs over DefaultConfig,
// which reads AddrEnv through lookupEnv. An AddrEnv that gives no URL is
// an error only when no -url is given: Config reports it.
func Bind(fs *flag.FlagSet, lookupEnv envflag.LookupEnv) *Flags {
	f := &Flags{fs: fs}
	f.cfg, f.envErr = DefaultConfig(lookupEnv)
	fs.Var(envflag.String(&f.cfg.URL), "url", "`URL` to GET; the default is "+DefaultPath+" on the port of $"+AddrEnv+
		" (the process's listen address, a wildcard host read as 127.0.0.1), else on 127.0.0.1:"+DefaultPort)
	fs.Var(envflag.Duration(&f.cfg.Timeout), "timeout", "most `time` the request and its answer may take")
	return f
}

// Config returns the configuration once the flags are parsed, validated.
func (f *Flags) Config() (Config, error) {
	urlSet := false
	f.fs.Visit(func(fl *flag.Flag) { urlSet = urlSet || fl.Name == "url" })
	if f.envErr != nil && !urlSet {
		return Config{}, fmt.Errorf("%w (or give -url)", f.envErr)
	}
	if err := f.cfg.Validate(); err != nil {
		return Config{}, err
	}
	return f.cfg, nil
}

// LoadConfig returns DefaultConfig overlaid with the flags in args,
// validated. fs receives the flags, so its usage lists them; its error
// handling decides what a bad flag does.
func LoadConfig(fs *flag.FlagSet, args []string, lookupEnv envflag.LookupEnv) (Config, error) {
	f := Bind(fs, lookupEnv)
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return f.Config()
}

// Validate reports a URL that is not http(s)://host… or a timeout that is
// not positive.
func (c Config) Validate() error {
	var errList []error
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errList = append(errList, fmt.Errorf("-url %q is not an http:// or https:// URL", envflag.Redact(c.URL)))
	}
	if c.Timeout <= 0 {
		errList = append(errList, fmt.Errorf("-timeout %v is not positive", c.Timeout))
	}
	return errors.Join(errList...)
}

// maxDetail bounds how much of an answer's body a failure repeats.
const maxDetail = 200

// Check GETs cfg.URL, straight to the host (no proxy), and returns nil when
// it answers 2xx within cfg.Timeout. The error of any other outcome is one
// line: the URL and the status with the answer's detail, or why no answer
// came.
func Check(ctx context.Context, cfg Config) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	shown := envflag.Redact(cfg.URL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.URL, nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", shown, err)
	}
	req.Header.Set("Accept", "application/json")
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL is already said
		}
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("GET %s: no answer within %v", shown, cfg.Timeout)
		}
		return fmt.Errorf("GET %s: %w", shown, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	msg := fmt.Sprintf("GET %s: %s", shown, resp.Status)
	if d := detail(body); d != "" {
		msg += ": " + d
	}
	return errors.New(msg)
}

// detail returns what a failed answer's body says, on one line: the detail
// of a problem+json body, else the start of the body.
func detail(body []byte) string {
	var p struct {
		Detail string `json:"detail"`
	}
	s := string(body)
	if json.Unmarshal(body, &p) == nil && p.Detail != "" {
		s = p.Detail
	}
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxDetail {
		s = string(r[:maxDetail-1]) + "…"
	}
	return s
}
