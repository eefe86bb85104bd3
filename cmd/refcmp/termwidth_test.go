package main

import (
	"bytes"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// TestTerminalWidth: on a terminal of COLUMNS=100, the tables and hint
// lines of a report fit (names shortened in the middle, hints wrapped);
// into a file the same report keeps its full lines.
func TestTerminalWidth(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	args := []string{"tensors", "--all", "testdata/porting/ref_activations.safetensors", "testdata/porting/port_activations.safetensors"}
	runWith := func(terminal bool, columns string) string {
		var out, errb bytes.Buffer
		a := &app{stdout: &out, stderr: &errb, getenv: func(k string) string {
			switch k {
			case "COLUMNS":
				return columns
			case "NO_COLOR":
				return "1"
			}
			return os.Getenv(k)
		}, terminal: func(io.Writer) bool { return terminal }}
		if code := a.run(args); code != exitDiff {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		return out.String()
	}
	full := runWith(false, "100")
	fitted := runWith(true, "100")
	if !strings.Contains(full, "│ layers.0.post_attention_layernorm │") {
		t.Fatalf("into a file, the names should be whole:\n%s", full)
	}
	if fitted == full {
		t.Fatal("on a terminal of 100 columns, nothing was fitted")
	}
	if !strings.Contains(fitted, "…") {
		t.Errorf("no name shortened in the middle:\n%s", fitted)
	}
	for _, l := range strings.Split(fitted, "\n") {
		table := strings.HasPrefix(l, "│") || strings.HasPrefix(l, "┌") || strings.HasPrefix(l, "├") || strings.HasPrefix(l, "└")
		hint := strings.HasPrefix(l, "    - ") || strings.HasPrefix(l, "      ")
		hint = hint || strings.HasPrefix(l, "  ") // the sequence's evidence, look-at and consequences
		if (table || hint) && len([]rune(l)) > 100 && strings.Contains(l, " ") && !strings.HasPrefix(strings.TrimSpace(l), "fix:") {
			t.Errorf("line of %d columns on a 100-column terminal:\n%s", len([]rune(l)), l)
		}
	}
	// A wide terminal changes nothing, and nor does a tiny COLUMNS.
	if got := runWith(true, "400"); got != full {
		t.Error("a 400-column terminal changed the output")
	}
	if got := runWith(true, "10"); got != full {
		t.Error("COLUMNS=10 (below the minimum) changed the output")
	}
}

func TestShortenMiddle(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"layers.0.post_attention_layernorm", 20, "layers.0.…_layernorm"},
		{"short", 20, "short"},
		{"abcdef", 5, "ab…ef"},
	} {
		if got := shortenMiddle(tc.in, tc.n); got != tc.want || len([]rune(got)) > tc.n {
			t.Errorf("shortenMiddle(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
	if got := wrapLine("  - x: ", "one two three four", 14); got != "  - x: one two\n       three\n       four\n" {
		t.Errorf("wrapLine = %q", got)
	}
}
