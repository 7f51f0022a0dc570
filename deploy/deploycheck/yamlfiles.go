package deploycheck

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"
)

// CheckYAMLFiles checks that every YAML file under deploy/ parses: each
// of its documents, without duplicate keys.
func CheckYAMLFiles(r Repo) []Problem {
	var out []Problem
	err := filepath.WalkDir(r.Path("deploy"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if err := parseYAMLDocuments(data); err != nil {
			out = append(out, Problem{File: r.rel(p), Msg: "does not parse: " + err.Error()})
		}
		return nil
	})
	if err != nil {
		out = append(out, Problem{File: "deploy", Msg: err.Error()})
	}
	return out
}

// parseYAMLDocuments decodes every document of data.
func parseYAMLDocuments(data []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var v any
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
