package cli

import (
	"context"
	"strings"
	"testing"
)

func TestExecute_ServiceCommands_BadCommandLinesAreUsageErrors(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		code     int
		inStdout string
		inStderr []string
	}{
		{"listed in help", nil, []string{"help"}, 0, "choreographed", nil},
		{"orchestrated help", nil, []string{"orchestrated", "-h"}, 0, "", []string{"Usage: ordersaga orchestrated <role>", "-temporal-address", "$ORDERSAGA_ORDERS_DB"}},
		{"choreographed help", nil, []string{"help", "choreographed"}, 0, "", []string{"-kafka-brokers", "-topic-prefix", "$ORDERSAGA_HTTP_ADDR"}},
		{"no roles", nil, []string{"choreographed", "-data-dir", "/d"}, 2, "", []string{"no roles named"}},
		{"unknown role", nil, []string{"orchestrated", "orders,billing", "-data-dir", "/d"}, 2, "", []string{`unknown role "billing"`}},
		{"no database", nil, []string{"choreographed", "payment"}, 2, "", []string{"no database for the payment role", "-payment-db", "-data-dir", "-postgres-url"}},
		{"bad env value", map[string]string{"ORDERSAGA_LOG_LEVEL": "loud"}, []string{"orchestrated", "all", "-data-dir", "/d"}, 2, "", []string{"ORDERSAGA_LOG_LEVEL"}},
		{"unknown flag", nil, []string{"orchestrated", "all", "-kafka-brokers", "k:1"}, 2, "", []string{"kafka-brokers"}},
		{"no secret", nil, []string{"choreographed", "orders", "-data-dir", "/d"}, 2, "", []string{"-auth-secret", "$ORDERSAGA_AUTH_SECRET", "-auth-secret-file", "ordersaga token", "ordersaga secret"}},
		{"help names the secret", nil, []string{"orchestrated", "-h"}, 0, "", []string{"-auth-secret", "-ops-addr", "-max-waiting", "-write-timeout", "ordersaga token"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env, stdout, stderr := testEnv(tc.env)
			if got := Execute(context.Background(), env, tc.args); got != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", got, tc.code, stderr)
			}
			if !strings.Contains(stdout.String(), tc.inStdout) {
				t.Errorf("stdout %q lacks %q", stdout, tc.inStdout)
			}
			for _, want := range tc.inStderr {
				if !strings.Contains(stderr.String(), want) {
					t.Errorf("stderr %q lacks %q", stderr, want)
				}
			}
		})
	}
}

func TestExecute_ServiceCommand_UnreachableInfrastructure_FailsWithoutShowingPasswords(t *testing.T) {
	env, _, stderr := testEnv(map[string]string{"ORDERSAGA_ORDERS_DB": "postgres://app:s3cret@127.0.0.1:1/orders",
		"ORDERSAGA_AUTH_SECRET": processSecret})
	if code := Execute(context.Background(), env, []string{"choreographed", "orders", "-kafka-brokers", "127.0.0.1:1"}); code != 1 {
		t.Errorf("exit code %d, want 1; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "orders database") {
		t.Errorf("stderr does not say what failed:\n%s", stderr)
	}
	if strings.Contains(stderr.String(), "s3cret") {
		t.Errorf("stderr shows the password:\n%s", stderr)
	}
}
