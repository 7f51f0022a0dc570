package output_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ordersaga/ordersaga/deploy/internal/output"
)

func TestWriteFile_CreatesTheFolderAndReportsAFailedWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "report.txt")
	if err := output.WriteFile(path, func(w io.Writer) error { _, err := io.WriteString(w, "hello"); return err }); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "hello" {
		t.Errorf("file %q, %v; want hello", data, err)
	}
	err := output.WriteFile(path, func(io.Writer) error { return errors.New("no data") })
	if err == nil || !strings.Contains(err.Error(), "no data") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %v, want one naming the file and the cause", err)
	}
}

func TestIsTerminal_NotForABufferOrAFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "f"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if output.IsTerminal(&bytes.Buffer{}) || output.IsTerminal(f) {
		t.Error("a buffer or a regular file is taken for a terminal")
	}
}
