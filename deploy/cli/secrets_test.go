package cli

import (
	"context"
	"strings"
	"testing"
)

// secretDSN is a database address whose password must never be shown.
const secretDSN = "postgres://app:s3cret@127.0.0.1:1/orders?sslmode=disable"

func TestHelp_DatabaseAddressesFromTheEnvironment_ShowNoPassword(t *testing.T) {
	vars := map[string]string{
		"ORDERSAGA_POSTGRES_URL":   secretDSN,
		"ORDERSAGA_ORDERS_DB":      secretDSN,
		"ORDERSAGA_PAYMENT_DB":     secretDSN,
		"ORDERSAGA_BENCH_POSTGRES": secretDSN,
		"ORDERSAGA_AUTH_SECRET":    "s3cret-signing-secret-of-the-help-test",
	}
	for _, args := range [][]string{
		{"run", "-h"},
		{"migrate", "-h"},
		{"bench", "-h"},
		{"orchestrated", "-h"},
		{"choreographed", "-h"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			env, stdout, stderr := testEnv(vars)
			if code := Execute(context.Background(), env, args); code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
			}
			out := stdout.String() + stderr.String()
			if strings.Contains(out, "s3cret") {
				t.Errorf("the help shows the password:\n%s", out)
			}
			// The address itself is shown, as the flag's default.
			if !strings.Contains(out, "postgres://app:xxxxx@127.0.0.1:1/orders") {
				t.Errorf("the help does not show the address without its password:\n%s", out)
			}
		})
	}
}

func TestMigrate_UnreachableDatabase_FailsWithoutShowingThePassword(t *testing.T) {
	env, stdout, stderr := testEnv(nil)
	if code := Execute(context.Background(), env, []string{"migrate", "-variant", "orchestrated", "-orders-db", secretDSN}); code != 1 {
		t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	out := stdout.String() + stderr.String()
	if !strings.Contains(out, "orders") || !strings.Contains(stdout.String(), "FAILED") {
		t.Errorf("the output does not say what failed:\n%s", out)
	}
	if strings.Contains(out, "s3cret") {
		t.Errorf("the output shows the password:\n%s", out)
	}
}
