package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// TestReadmeTensorsJSONContract checks that README.md's ```jsonc tensors
// description of `refcmp tensors --format json` names exactly the keys
// the report has.
func TestReadmeTensorsJSONContract(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var doc string
	for _, b := range fencedBlocks(string(data)) {
		if b.info == "jsonc tensors" {
			doc = strings.Join(b.lines, "\n")
		}
	}
	if doc == "" {
		t.Fatal("README.md has no ```jsonc tensors block describing the tensors report")
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile(`"([a-z_]+)":`).FindAllStringSubmatch(doc, -1) {
		documented[m[1]] = true
	}
	actual := map[string]bool{}
	tensorsJSONKeys(reflect.TypeFor[tensorsReport](), actual)
	for k := range actual {
		if !documented[k] {
			t.Errorf("JSON key %q of the tensors report is not documented in README.md", k)
		}
	}
	for k := range documented {
		if !actual[k] {
			t.Errorf("README.md documents JSON key %q, which the tensors report does not have", k)
		}
	}
}

// tensorsJSONKeys collects the JSON object keys of t and the types inside
// it; fields of embedded structs count as the outer struct's.
func tensorsJSONKeys(t reflect.Type, keys map[string]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		tensorsJSONKeys(t.Elem(), keys)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if f.Anonymous && name == "" {
				tensorsJSONKeys(f.Type, keys)
				continue
			}
			if name == "" {
				name = f.Name
			}
			keys[name] = true
			tensorsJSONKeys(f.Type, keys)
		}
	}
}
