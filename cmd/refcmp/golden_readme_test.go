package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/testenv"
)

// TestReadmeGoldenInspectJSON checks that README.md's ```jsonc
// golden-file, golden-check and inspect blocks name exactly the keys of
// the golden file, the golden check report and the inspect report.
func TestReadmeGoldenInspectJSON(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	for _, b := range fencedBlocks(string(data)) {
		docs[b.info] = strings.Join(b.lines, "\n")
	}
	for _, c := range []struct {
		block string
		typ   reflect.Type
	}{
		{"jsonc golden-file", reflect.TypeFor[diffing.Golden]()},
		{"jsonc golden-check", reflect.TypeFor[diffing.GoldenReport]()},
		{"jsonc inspect", reflect.TypeFor[inspectReport]()},
	} {
		doc, ok := docs[c.block]
		if !ok {
			t.Errorf("README.md has no ```%s block", c.block)
			continue
		}
		documented := map[string]bool{}
		for _, m := range regexp.MustCompile(`"([a-z_0-9]+)":`).FindAllStringSubmatch(doc, -1) {
			documented[m[1]] = true
		}
		actual := map[string]bool{}
		tensorsJSONKeys(c.typ, actual)
		for k := range actual {
			if !documented[k] {
				t.Errorf("%s: JSON key %q is not documented in README.md", c.block, k)
			}
		}
		for k := range documented {
			if !actual[k] {
				t.Errorf("%s: README.md documents JSON key %q, which %s does not have", c.block, k, c.typ)
			}
		}
	}
}

// TestGoldenFixture checks that testdata/golden/model.golden.json, which
// README.md's golden example checks against, is what `golden record`
// writes today. Run with -update to rewrite it.
func TestGoldenFixture(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	const fixture = "testdata/golden/model.golden.json"
	var out, errb bytes.Buffer
	if code := run([]string{"golden", "record", "testdata/porting/model.safetensors"}, &out, &errb); code != exitOK {
		t.Fatalf("golden record: exit %d: %s", code, errb.String())
	}
	if *update {
		if err := os.WriteFile(fixture, out.Bytes(), 0o666); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Errorf("%s is not what golden record writes now (run go test ./cmd/refcmp -run TestGoldenFixture -update):\n%s", fixture, lineDiff(string(want), out.String()))
	}
}
