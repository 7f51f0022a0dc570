package dblayout_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/internal/dblayout"
	"github.com/ordersaga/ordersaga/shared/hosted"
)

func TestAddresses_WithoutPostgres_SQLiteFilesInTheVariantsFolder(t *testing.T) {
	dir := t.TempDir()
	dbs, err := dblayout.Addresses(context.Background(), dir, "", "", "orchestrated")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "orchestrated")); err != nil {
		t.Errorf("the variant's folder: %v", err)
	}
	for _, r := range hosted.AllRoles() {
		if want := filepath.Join(dir, "orchestrated", string(r)+".db"); !strings.Contains(dbs[r], want) {
			t.Errorf("%s database %q, want the file %s", r, dbs[r], want)
		}
	}
}

func TestValidPrefix(t *testing.T) {
	for prefix, want := range map[string]bool{
		"demo_": true, "a": true, "bench1_": true,
		"": false, "1a": false, "My": false, "a-b": false, strings.Repeat("a", 22): false,
	} {
		if got := dblayout.ValidPrefix(prefix); got != want {
			t.Errorf("ValidPrefix(%q) = %v, want %v", prefix, got, want)
		}
	}
}
