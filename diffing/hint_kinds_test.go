package diffing

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHintKindsDocumented: every hint kind the code defines is listed in
// docs/json.md and has its rule in docs/hints.md (the GGUF preset kinds
// in json.md's quant note), so a new detector cannot ship undocumented.
func TestHintKindsDocumented(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	def := regexp.MustCompile(`TensorHint\w*\s*=\s*"([a-z_]+)"`)
	kinds := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range def.FindAllStringSubmatch(string(b), -1) {
			kinds[m[1]] = true
		}
	}
	if len(kinds) < 25 {
		t.Fatalf("found %d hint kinds in the source, want >= 25", len(kinds))
	}
	jsonDoc, err := os.ReadFile(filepath.Join("..", "docs", "json.md"))
	if err != nil {
		t.Fatal(err)
	}
	hintsDoc, err := os.ReadFile(filepath.Join("..", "docs", "hints.md"))
	if err != nil {
		t.Fatal(err)
	}
	preset := map[string]bool{"quantization": true, "unpermuted": true, "norm_offset": true, "layer_swap": true}
	word := func(doc []byte, k string) bool {
		return regexp.MustCompile(`(^|[^a-z_])` + k + `([^a-z_]|$)`).Match(doc)
	}
	for k := range kinds {
		if !word(jsonDoc, k) {
			t.Errorf("hint kind %q is not listed in docs/json.md", k)
		}
		if !preset[k] && !strings.Contains(string(hintsDoc), "`"+k+"`") {
			t.Errorf("hint kind %q has no rule in docs/hints.md", k)
		}
	}
}
