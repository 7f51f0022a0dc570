package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/ordersaga/ordersaga/shared/errs"
)

// maxFieldErrors bounds the field errors one response lists.
const maxFieldErrors = 50

// fieldProblems compares a decoded JSON document (numbers as json.Number)
// with the request type t and lists every unknown field and every value of
// the wrong JSON type, by path. Field names match their json tags exactly.
// A null leaves the zero value, which validation then judges.
func fieldProblems(doc any, t reflect.Type) []errs.FieldError {
	var w fieldWalker
	w.walk("", doc, t)
	return w.errs
}

type fieldWalker struct {
	errs []errs.FieldError
}

func (w *fieldWalker) add(path, msg string) {
	if len(w.errs) < maxFieldErrors {
		w.errs = append(w.errs, errs.FieldError{Field: path, Message: msg})
	}
}

func (w *fieldWalker) walk(path string, v any, t reflect.Type) {
	if v == nil || len(w.errs) >= maxFieldErrors {
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			w.add(path, "must be an object")
			return
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(m) {
			ft, known := fields[k]
			if !known {
				w.add(joinPath(path, k), "is not a known field")
				continue
			}
			w.walk(joinPath(path, k), m[k], ft)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			w.add(path, "must be an object")
			return
		}
		for _, k := range sortedKeys(m) {
			w.walk(joinPath(path, k), m[k], t.Elem())
		}
	case reflect.Slice:
		arr, ok := v.([]any)
		if !ok {
			w.add(path, "must be an array")
			return
		}
		for i, e := range arr {
			w.walk(fmt.Sprintf("%s[%d]", path, i), e, t.Elem())
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			w.add(path, "must be a string")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			w.add(path, "must be true or false")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(json.Number)
		if !ok {
			w.add(path, "must be an integer")
			return
		}
		if _, err := strconv.ParseInt(n.String(), 10, t.Bits()); err != nil {
			if errors.Is(err, strconv.ErrRange) {
				w.add(path, "is out of range")
			} else {
				w.add(path, "must be an integer")
			}
		}
	case reflect.Float32, reflect.Float64:
		n, ok := v.(json.Number)
		if !ok {
			w.add(path, "must be a number")
			return
		}
		if _, err := strconv.ParseFloat(n.String(), t.Bits()); err != nil {
			w.add(path, "is out of range")
		}
	default:
		w.add(path, "has a type this API does not accept")
	}
}

// jsonFields maps the JSON names of a request struct's fields to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		m[name] = f.Type
	}
	return m
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
