package sqldb

import (
	"net/url"
	"strings"
)

// RedactedMask replaces a secret in an address that Redact returns.
const RedactedMask = "xxxxx"

// Redact returns a database, broker or server address fit for a log, a
// banner or an error message: every secret it holds replaced by
// RedactedMask, the rest kept so the reader still sees where it leads.
//
// It hides the password of a URL's user information
// (postgres://user:secret@host/db), the values of sensitive query
// parameters (?password=…, &sslpassword=…, and any key naming a password,
// passphrase, secret, token, credential or API key, however its name is
// percent-escaped), and the same keys of a libpq key=value string
// (host=db password=secret, quoted values included). An address that does
// not parse while it may hold a secret (an '@' or a sensitive key) is
// hidden from its scheme on, rather than shown with a secret left in.
func Redact(addr string) string {
	if addr == "" {
		return ""
	}
	if !strings.Contains(addr, "://") && isKeyValueDSN(addr) {
		return redactKeyValues(addr)
	}
	u, err := url.Parse(addr)
	if err != nil || strings.Contains(u.Opaque, "@") {
		return hideUnparsed(addr)
	}
	changed := false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), RedactedMask)
			changed = true
		}
	}
	if q, ok := redactQuery(u.RawQuery); ok {
		u.RawQuery = q
		changed = true
	}
	if mayHoldSecret(u.Fragment) {
		u.Fragment, u.RawFragment = RedactedMask, ""
		changed = true
	}
	if !changed {
		return addr
	}
	return u.String()
}

// isKeyValueDSN reports whether s starts like a libpq key=value connection
// string: a keyword, optional spaces, then '='.
func isKeyValueDSN(s string) bool {
	s = strings.TrimLeft(s, " \t\n\r")
	key := keywordLen(s)
	return key > 0 && strings.HasPrefix(strings.TrimLeft(s[key:], " \t\n\r"), "=")
}

// keywordLen returns the length of the keyword (letters, digits and
// underscores, not starting with a digit) at the start of s.
func keywordLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return i
		}
	}
	return len(s)
}

// isSpace reports whether c separates the pairs of a key=value string.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// redactKeyValues replaces the values of the sensitive keys of a libpq
// key=value connection string, parsed as libpq does: a value is quoted
// ('…', with backslash escapes) or runs to the next space. From a part
// that does not parse on, the rest is hidden when it may hold a secret.
func redactKeyValues(dsn string) string {
	var b strings.Builder
	i := 0
	for i < len(dsn) {
		start := i
		for i < len(dsn) && isSpace(dsn[i]) {
			i++
		}
		b.WriteString(dsn[start:i])
		if i == len(dsn) {
			break
		}
		n := keywordLen(dsn[i:])
		key := dsn[i : i+n]
		j := i + n
		for j < len(dsn) && isSpace(dsn[j]) {
			j++
		}
		if n == 0 || j == len(dsn) || dsn[j] != '=' {
			// Not key=value: nothing after this can be trusted to end
			// where it seems to.
			if rest := dsn[i:]; mayHoldSecret(rest) {
				b.WriteString(RedactedMask)
			} else {
				b.WriteString(rest)
			}
			break
		}
		j++
		for j < len(dsn) && isSpace(dsn[j]) {
			j++
		}
		b.WriteString(dsn[i:j])
		end := valueEnd(dsn, j)
		if sensitiveKey(key) {
			b.WriteString(RedactedMask)
		} else {
			b.WriteString(dsn[j:end])
		}
		i = end
	}
	return b.String()
}

// valueEnd returns where the value starting at i of a key=value string
// ends: after its closing quote (the end of s when there is none), or at
// the next unescaped space.
func valueEnd(s string, i int) int {
	quoted := i < len(s) && s[i] == '\''
	if quoted {
		i++
	}
	for i < len(s) {
		switch c := s[i]; {
		case c == '\\':
			i += 2
			continue
		case quoted && c == '\'':
			return i + 1
		case !quoted && isSpace(c):
			return i
		}
		i++
	}
	return len(s)
}

// redactQuery replaces the values of the sensitive keys of a raw URL
// query, keeping the order and spelling of the rest; ok reports whether
// it replaced any.
func redactQuery(raw string) (string, bool) {
	if raw == "" {
		return raw, false
	}
	var b strings.Builder
	changed := false
	for raw != "" {
		// Pairs are separated by '&' or, in older writing, ';'.
		part, sep := raw, ""
		if i := strings.IndexAny(raw, "&;"); i >= 0 {
			part, sep, raw = raw[:i], raw[i:i+1], raw[i+1:]
		} else {
			raw = ""
		}
		key, _, _ := strings.Cut(part, "=")
		if decoded, err := url.QueryUnescape(key); err == nil {
			key = decoded
		}
		if sensitiveKey(key) {
			part = url.QueryEscape(key) + "=" + RedactedMask
			changed = true
		}
		b.WriteString(part + sep)
	}
	return b.String(), changed
}

// sensitiveKey reports whether a parameter named key holds a secret: its
// name contains password (password, sslpassword, passwd, passphrase), pwd,
// secret, token, credential, auth or api_key.
func sensitiveKey(key string) bool {
	k := strings.ToLower(key)
	for _, w := range []string{"pass", "pwd", "secret", "token", "credential", "auth", "apikey", "api_key"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// mayHoldSecret reports whether text may hold a secret: user information
// ('@') or a sensitive key.
func mayHoldSecret(text string) bool {
	return strings.Contains(text, "@") || sensitiveKey(text)
}

// hideUnparsed returns an address that does not parse: unchanged when it
// cannot hold a secret, else only its scheme followed by the mask.
func hideUnparsed(addr string) string {
	if !mayHoldSecret(addr) {
		return addr
	}
	if scheme, _, ok := strings.Cut(addr, "://"); ok && isScheme(scheme) {
		return scheme + "://" + RedactedMask
	}
	return RedactedMask
}

// isScheme reports whether s is a URL scheme: a letter, then letters,
// digits, '+', '-' and '.'.
func isScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}
