package sqldb_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ordersaga/ordersaga/shared/sqldb"
	"github.com/ordersaga/ordersaga/shared/sqldb/sqltest"
)

// TestRedact_HidesEverySecretAndKeepsTheRest: the password of a URL's user
// information, of sensitive query parameters and of sensitive key=value
// pairs is replaced by the mask; everything else of the address is shown
// as given; an address that does not parse is hidden when it may hold a
// secret.
func TestRedact_HidesEverySecretAndKeepsTheRest(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"no secret", "postgres://app@db:5432/orders?sslmode=disable", "postgres://app@db:5432/orders?sslmode=disable"},
		{"sqlite file", "sqlite:/data/orders.db", "sqlite:/data/orders.db"},
		{"sqlite memory", "sqlite::memory:", "sqlite::memory:"},
		{"host and port", "kafka:9092", "kafka:9092"},
		{"http base URL", "http://orders:8080", "http://orders:8080"},
		{"user password", "postgres://app:s3cret@db:5432/orders?sslmode=disable", "postgres://app:xxxxx@db:5432/orders?sslmode=disable"},
		{"postgresql scheme", "postgresql://app:s3cret@db/orders", "postgresql://app:xxxxx@db/orders"},
		{"empty password", "postgres://app:@db/orders", "postgres://app:xxxxx@db/orders"},
		{"escaped password", "postgres://app:s3%40cret%2F@db/orders", "postgres://app:xxxxx@db/orders"},
		{"password query first", "postgres://app@db/orders?password=s3cret&sslmode=disable", "postgres://app@db/orders?password=xxxxx&sslmode=disable"},
		{"password query later", "postgres://app@db/orders?sslmode=disable&password=s3cret", "postgres://app@db/orders?sslmode=disable&password=xxxxx"},
		{"password query without value", "postgres://db/orders?password", "postgres://db/orders?password=xxxxx"},
		{"sslpassword", "postgres://app@db/orders?sslmode=verify-full&sslpassword=k3y&sslkey=/etc/key.pem", "postgres://app@db/orders?sslmode=verify-full&sslpassword=xxxxx&sslkey=/etc/key.pem"},
		{"escaped key", "postgres://db/orders?pass%77ord=s3cret", "postgres://db/orders?password=xxxxx"},
		{"upper-case key", "postgres://db/orders?PASSWORD=s3cret", "postgres://db/orders?PASSWORD=xxxxx"},
		{"semicolon separator", "postgres://db/orders?sslmode=disable;password=s3cret", "postgres://db/orders?sslmode=disable;password=xxxxx"},
		{"every form at once", "postgres://app:s1@db/orders?password=s2&sslpassword=s3&token=s4&client_secret=s5", "postgres://app:xxxxx@db/orders?password=xxxxx&sslpassword=xxxxx&token=xxxxx&client_secret=xxxxx"},
		{"secret in the fragment", "postgres://db/orders#password=s3cret", "postgres://db/orders#xxxxx"},
		{"other scheme", "mysql://root:s3cret@localhost/x", "mysql://root:xxxxx@localhost/x"},
		{"key=value", "host=db port=5432 user=app password=s3cret dbname=orders", "host=db port=5432 user=app password=xxxxx dbname=orders"},
		{"key = value with spaces", "host = db password = s3cret sslmode=disable", "host = db password = xxxxx sslmode=disable"},
		{"quoted value", "host=db password='s3 cret' dbname=orders", "host=db password=xxxxx dbname=orders"},
		{"quoted value with escapes", `password='it\'s s3cret' host=db`, "password=xxxxx host=db"},
		{"unquoted value with escaped space", `password=s3\ cret host=db`, "password=xxxxx host=db"},
		{"unterminated quote", "host=db password='s3cret dbname=orders", "host=db password=xxxxx"},
		{"key=value sslpassword", "host=db sslpassword=k3y sslkey=/etc/key.pem", "host=db sslpassword=xxxxx sslkey=/etc/key.pem"},
		{"key=value broken after the host", "host=db s3cret@password", "host=db xxxxx"},
		{"no scheme, user information", "app:s3cret@db:5432/orders", "xxxxx"},
		{"no scheme, digit user", "1app:s3cret@db/orders", "xxxxx"},
		{"does not parse", "postgres://app:s3%zzcret@db/orders", "postgres://xxxxx"},
		{"does not parse, no secret", "postgres://db:5432/or%zzders", "postgres://db:5432/or%zzders"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := sqldb.Redact(tc.in)
			if got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
			for _, secret := range []string{"s3cret", "s3 cret", "s1", "s2", "s3", "s4", "s5", "k3y"} {
				if strings.Contains(tc.in, secret) && strings.Contains(got, secret) {
					t.Errorf("Redact(%q) = %q keeps the secret %q", tc.in, got, secret)
				}
			}
		})
	}
}

// TestRedact_IsStable: redacting twice gives what redacting once gave, so
// an address redacted early and shown again later reads the same.
func TestRedact_IsStable(t *testing.T) {
	for _, in := range []string{
		"postgres://app:s3cret@db/orders?password=s3cret",
		"host=db password='s3cret'",
		"postgres://app:s3%zzcret@db/orders",
	} {
		once := sqldb.Redact(in)
		if twice := sqldb.Redact(once); twice != once {
			t.Errorf("Redact(Redact(%q)) = %q, want %q", in, twice, once)
		}
	}
}

// TestOpen_FailureWithPasswords_NeverShowsThem: whatever makes opening a
// PostgreSQL database fail (an address that does not parse, a server that
// does not answer, a role the server refuses), the error names the
// database but none of the passwords of the address, in its user
// information or its query.
func TestOpen_FailureWithPasswords_NeverShowsThem(t *testing.T) {
	const secrets = "?password=qu3ry-pw&sslmode=disable&sslpassword=ssl-pw"
	refused, err := url.Parse(sqltest.Server(t))
	if err != nil {
		t.Fatal(err)
	}
	refused.User = url.UserPassword("no_such_role_for_redact", "us3r-pw")
	refused.RawQuery = strings.TrimPrefix(secrets, "?")
	for name, dsn := range map[string]string{
		"bad port":       "postgres://app:us3r-pw@127.0.0.1:notaport/orders" + secrets,
		"no server":      "postgres://app:us3r-pw@127.0.0.1:1/orders" + secrets,
		"role refused":   refused.String(),
		"unknown scheme": "mysql://app:us3r-pw@127.0.0.1/orders" + secrets,
	} {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			db, err := sqldb.Open(ctx, dsn)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%s) succeeded", sqldb.Redact(dsn))
			}
			msg := err.Error()
			for _, pw := range []string{"us3r-pw", "qu3ry-pw", "ssl-pw"} {
				if strings.Contains(msg, pw) {
					t.Errorf("the error shows the password %q: %s", pw, msg)
				}
			}
			if !strings.Contains(msg, "orders") && !strings.Contains(msg, "postgres") {
				t.Errorf("the error does not name the database: %s", msg)
			}
		})
	}
}
