package allinone_test

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/allinone"
)

// curlCommand is one curl command of the banner, as curl reads it.
type curlCommand struct {
	method  string
	url     string
	headers [][2]string
	data    string
}

// bannerCurls returns the curl commands of a banner: each line starting
// with "curl", with the lines it continues with a trailing backslash,
// split into words as a POSIX shell does (single and double quotes, a
// backslash before a line end), and read as curl reads -X, -H, -d, -s and
// the URL.
func bannerCurls(tb testing.TB, banner string) []curlCommand {
	tb.Helper()
	var cmds []curlCommand
	lines := strings.Split(banner, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if !strings.HasPrefix(line, "curl ") {
			continue
		}
		text := lines[i]
		for strings.HasSuffix(strings.TrimRight(text, " "), `\`) && i+1 < len(lines) {
			i++
			text += "\n" + lines[i]
		}
		words := shellWords(tb, text)
		c := curlCommand{}
		for j := 1; j < len(words); j++ {
			switch w := words[j]; w {
			case "-s":
			case "-X", "-H", "-d":
				if j+1 == len(words) {
					tb.Fatalf("%s without a value in %q", w, text)
				}
				j++
				switch w {
				case "-X":
					c.method = words[j]
				case "-H":
					name, value, ok := strings.Cut(words[j], ":")
					if !ok {
						tb.Fatalf("header %q in %q", words[j], text)
					}
					c.headers = append(c.headers, [2]string{strings.TrimSpace(name), strings.TrimSpace(value)})
				case "-d":
					c.data = words[j]
				}
			default:
				if strings.HasPrefix(w, "-") || c.url != "" {
					tb.Fatalf("unexpected word %q in %q", w, text)
				}
				c.url = w
			}
		}
		if c.method == "" {
			c.method = http.MethodGet
			if c.data != "" {
				c.method = http.MethodPost
			}
		}
		cmds = append(cmds, c)
	}
	return cmds
}

// shellWords splits a command line as a POSIX shell does, without
// expansions (the banner uses none).
func shellWords(tb testing.TB, s string) []string {
	tb.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				tb.Fatalf("unclosed single quote in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			inWord = true
		case ch == '"':
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				tb.Fatalf("unclosed double quote in %q", s)
			}
			inner := s[i+1 : i+1+end]
			if strings.ContainsAny(inner, "$`\\") {
				tb.Fatalf("a double-quoted word the shell would expand: %q", inner)
			}
			cur.WriteString(inner)
			i += end + 1
			inWord = true
		case ch == '\\' && i+1 < len(s) && s[i+1] == '\n':
			i++ // a line continuation
		case ch == '\\' && i+1 < len(s):
			cur.WriteByte(s[i+1])
			i++
			inWord = true
		case ch == ' ' || ch == '\t' || ch == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.IndexByte("$`;&|<>()*?", ch) >= 0:
			tb.Fatalf("a character the shell would read differently, %q, in %q", ch, s)
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// send sends c, without its Authorization header when anonymous, and
// returns the answer's status, headers and body.
func (c curlCommand) send(tb testing.TB, anonymous bool) (int, http.Header, []byte) {
	tb.Helper()
	req, err := http.NewRequestWithContext(testContext(tb), c.method, c.url, strings.NewReader(c.data))
	if err != nil {
		tb.Fatalf("%s %s: %v", c.method, c.url, err)
	}
	for _, h := range c.headers {
		if anonymous && strings.EqualFold(h[0], "Authorization") {
			continue
		}
		req.Header.Add(h[0], h[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", c.method, c.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the answer: %v", c.method, c.url, err)
	}
	return resp.StatusCode, resp.Header, body
}

// bearer returns the token of c's Authorization header.
func (c curlCommand) bearer() string {
	for _, h := range c.headers {
		if strings.EqualFold(h[0], "Authorization") {
			return strings.TrimPrefix(h[1], "Bearer ")
		}
	}
	return ""
}

// TestBanner_PrintedCommands_WorkAsPrinted starts the whole all-in-one
// stack (both variants, demo data) and runs the commands its banner
// prints, as curl would read them: on each API the demo customer's POST
// places an order for that customer, and the same POST without its
// Authorization header is refused with 401 (problem+json, WWW-Authenticate:
// Bearer); the customer's read lists that order and only the customer's
// orders; the operator's list answers 200 with every order, the other
// customer's included; on each API the customer's notifications read
// answers 200 with a list, and 401 without its token.
func TestBanner_PrintedCommands_WorkAsPrinted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the whole all-in-one stack")
	}
	s := startBoth(t, testConfig(t.TempDir()))
	cr := s.Credentials()
	banner := s.Banner()
	cmds := bannerCurls(t, banner)
	var posts, reads, notes []curlCommand
	for _, c := range cmds {
		switch {
		case c.method == http.MethodPost && strings.Contains(c.url, "/v1/orders"):
			posts = append(posts, c)
		case c.method == http.MethodGet && strings.Contains(c.url, "/v1/orders"):
			reads = append(reads, c)
		case c.method == http.MethodGet && strings.Contains(c.url, "/notifications"):
			notes = append(notes, c)
		}
	}
	if len(posts) != 2 || len(reads) != 2 || len(notes) != 2 {
		t.Fatalf("the banner prints %d order placements, %d order reads and %d notification reads, "+
			"want one placement and one notification read per API and a customer's and an operator's order read:\n%s",
			len(posts), len(reads), len(notes), banner)
	}
	// Another customer's order, which the customer's read must not list.
	other := call(t, cr.Operator, http.MethodPost, s.APIURL(allinone.Orchestrated)+"/v1/orders", strings.Replace(demoOrderOf(t, posts[0]), `"ada"`, `"bob"`, 1), nil)
	if other != http.StatusAccepted {
		t.Fatalf("placing bob's order as the operator: %d, want 202", other)
	}

	placed := map[string]string{} // API base URL → the order id placed there
	for _, c := range posts {
		if c.bearer() != cr.Customer {
			t.Errorf("the order placement on %s does not carry the customer token", c.url)
		}
		status, _, body := c.send(t, false)
		var o struct {
			OrderID    string `json:"order_id"`
			CustomerID string `json:"customer_id"`
		}
		if status != http.StatusCreated && status != http.StatusAccepted || json.Unmarshal(body, &o) != nil || o.CustomerID != cr.CustomerID {
			t.Errorf("the banner's POST %s: %d %s, want 201 or 202 with an order of %s", c.url, status, body, cr.CustomerID)
			continue
		}
		placed[strings.Split(c.url, "/v1/")[0]] = o.OrderID

		status, header, body := c.send(t, true)
		if status != http.StatusUnauthorized || !strings.HasPrefix(header.Get("Content-Type"), "application/problem+json") ||
			!strings.HasPrefix(header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("the banner's POST %s without its token: %d %q %q %s, want 401 problem+json with WWW-Authenticate: Bearer",
				c.url, status, header.Get("Content-Type"), header.Get("WWW-Authenticate"), body)
		}
	}

	for _, c := range reads {
		status, _, body := c.send(t, false)
		var list struct {
			Orders []struct {
				OrderID    string `json:"order_id"`
				CustomerID string `json:"customer_id"`
			} `json:"orders"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &list) != nil {
			t.Errorf("the banner's GET %s: %d %s, want 200 with a list", c.url, status, body)
			continue
		}
		var ids, customers []string
		for _, o := range list.Orders {
			ids = append(ids, o.OrderID)
			customers = append(customers, o.CustomerID)
		}
		if want := placed[strings.Split(c.url, "/v1/")[0]]; !slices.Contains(ids, want) {
			t.Errorf("the banner's GET %s does not list the order %s placed there: %s", c.url, want, body)
		}
		switch c.bearer() {
		case cr.Customer:
			if slices.ContainsFunc(customers, func(id string) bool { return id != cr.CustomerID }) {
				t.Errorf("the customer's read lists another customer's orders: %s", body)
			}
		case cr.Operator:
			if !slices.Contains(customers, "bob") {
				t.Errorf("the operator's read does not list bob's order: %s", body)
			}
		default:
			t.Errorf("the banner's GET %s carries neither printed token", c.url)
		}
	}
	checkNotificationReads(t, notes, cr)
}

// checkNotificationReads runs the banner's notification reads: each is the
// demo customer's own, on a different API, and answers 200 with a list;
// without its token 401.
func checkNotificationReads(t *testing.T, notes []curlCommand, cr allinone.Credentials) {
	t.Helper()
	apis := map[string]bool{}
	for _, c := range notes {
		apis[strings.Split(c.url, "/v1/")[0]] = true
		if c.bearer() != cr.Customer || !strings.Contains(c.url, "/v1/customers/"+cr.CustomerID+"/notifications") {
			t.Errorf("the notification read %s is not the demo customer's own with its token", c.url)
		}
		status, _, body := c.send(t, false)
		var page struct {
			Notifications []json.RawMessage `json:"notifications"`
		}
		if status != http.StatusOK || json.Unmarshal(body, &page) != nil || page.Notifications == nil {
			t.Errorf("the banner's GET %s: %d %s, want 200 with a notifications list", c.url, status, body)
		}
		if status, _, body := c.send(t, true); status != http.StatusUnauthorized {
			t.Errorf("the banner's GET %s without its token: %d %s, want 401", c.url, status, body)
		}
	}
	if len(apis) != len(notes) {
		t.Errorf("the notification reads go to %d APIs, want one per API: %v", len(apis), notes)
	}
}

// demoOrderOf returns the body of a POST command.
func demoOrderOf(tb testing.TB, c curlCommand) string {
	tb.Helper()
	if c.data == "" {
		tb.Fatalf("the POST %s has no body", c.url)
	}
	return c.data
}
