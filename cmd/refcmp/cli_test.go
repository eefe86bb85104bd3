package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensorfile"
)

// TestEveryCommandDocumented walks the command tree: every command of
// ours has a short and a long description and examples, so --help always
// shows how to use it.
func TestEveryCommandDocumented(t *testing.T) {
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Name() == "help" || c.Name() == "completion" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			return // cobra's own, documented by cobra
		}
		if c.Short == "" || c.Long == "" || c.Example == "" {
			t.Errorf("%q lacks a Short, Long or Example help text", c.CommandPath())
		}
		if c.Runnable() && c.Args == nil {
			t.Errorf("%q does not check its arguments", c.CommandPath())
		}
	}
	walk(newRootCmd(a))
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errDifferences, exitDiff},
		{fmt.Errorf("rendering: %w", errDifferences), exitDiff},
		{usagef("bad"), exitError},
		{errors.New("x.safetensors: truncated"), exitError},
		{&fs.PathError{Op: "open", Path: "x", Err: fs.ErrNotExist}, exitError},
		{fmt.Errorf("ref: %w", &tensorfile.InternalError{Path: "x", Panic: "boom"}), exitInternal},
		{&internalError{panic: "boom"}, exitInternal},
		{fmt.Errorf("a vs b: tensor %q: %w", "w", &diffing.PanicError{Value: "boom"}), exitInternal},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	pe := &fs.PathError{Op: "open", Path: "a/b.txt", Err: fs.ErrNotExist}
	if got, want := errorMessage(pe), "a/b.txt: file does not exist"; got != want {
		t.Errorf("errorMessage(PathError) = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("reading: %w", pe)
	if got, want := errorMessage(wrapped), "reading: open a/b.txt: file does not exist"; got != want {
		t.Errorf("errorMessage(wrapped) = %q, want %q", got, want)
	}
}

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("writer exploded") }

// TestPanicExitsInternal: a panic anywhere in a command is exit 3 with
// "internal error", never 2 (a bad input) and never a crash.
func TestPanicExitsInternal(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"version"}, panicWriter{}, &stderr)
	if code != exitInternal || code == exitError {
		t.Fatalf("exit %d, want %d", code, exitInternal)
	}
	if msg := stderr.String(); !strings.Contains(msg, "internal error (please report it") || !strings.Contains(msg, "writer exploded") || !strings.Contains(msg, "refcmp version") {
		t.Errorf("stderr %q", msg)
	}
}

// TestRunInProcess runs the CLI through run, as main does.
func TestRunInProcess(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"version"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("version: exit %d, stderr %q", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "refcmp ") || stderr.Len() > 0 {
		t.Errorf("version: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	stdout.Reset()
	if code := run([]string{"weights", "--format=yaml", "a", "b"}, &stdout, &stderr); code != exitError {
		t.Errorf("bad --format: exit %d, want %d", code, exitError)
	}
	if stdout.Len() > 0 || !strings.Contains(stderr.String(), "must be one of text, json, markdown") {
		t.Errorf("bad --format: stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}

func TestStyle(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, tc := range []struct {
		color string
		env   func(string) string
		want  bool
	}{
		{colorAuto, env(), false}, // a bytes.Buffer is not a terminal
		{colorAlways, env(), true},
		{colorNever, env(), false},
		{colorAlways, env("NO_COLOR", "1"), true}, // the flag overrides the environment
		{colorNever, env("NO_COLOR", "1"), false},
		{colorAlways, env("NO_COLOR", ""), true}, // set but empty does not count
		{colorAuto, env("TERM", "dumb"), false},
	} {
		o := outputFlags{color: tc.color}
		if got := o.style(&app{getenv: tc.env}, &bytes.Buffer{}).color; got != tc.want {
			t.Errorf("--color %s with env %v: color %v, want %v", tc.color, tc.env("NO_COLOR"), got, tc.want)
		}
	}
}

func TestHumanCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {999, "999"}, {1000, "1.00 K"}, {14480, "14.48 K"},
		{999_994, "999.99 K"}, {999_995, "1.00 M"}, {8_030_261_248, "8.03 B"},
		{281_241_268_224_000, "281.24 T"},
	} {
		if got := humanCount(tc.n); got != tc.want {
			t.Errorf("humanCount(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestFoldRows(t *testing.T) {
	rows := [][]string{
		{"layers.0.w", "[4 4]", "closest: layers.0.w1"},
		{"layers.1.w", "[4 4]", "closest: layers.1.w1"},
		{"layers.2.w", "[4 8]", "closest: layers.2.w1"},
		{"layers.3.w", "[4 4]", "closest: layers.3.w1"},
		{"head", "[4 4]", ""},
	}
	got := foldRows(rows, []bool{true, false, true})
	want := [][]string{
		{"layers.{0,1,3}.w", "[4 4]", "closest: layers.{0,1,3}.w1"},
		{"layers.2.w", "[4 8]", "closest: layers.2.w1"},
		{"head", "[4 4]", ""},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("foldRows:\n got %q\nwant %q", got, want)
	}
}

func TestFoldTexts(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"same", "same"}, "same"},
		{[]string{"loaded as a.0.x; fix", "loaded as a.1.x; fix"}, "loaded as a.{0,1}.x; fix"},
		{[]string{"one two", "one two three"}, "one two (first of 2)"},
		{[]string{"[0:16] a.0", "[0:8] a.1"}, "[0:16] a.0 (first of 2)"},
	} {
		if got := foldTexts(tc.in); got != tc.want {
			t.Errorf("foldTexts(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"model.w|x", "`model.w\\|x`"},
		{"a`b", "``a`b``"},
		{"`a", "`` `a ``"},
		{"", ""},
	} {
		if got := mdCode(tc.in); got != tc.want {
			t.Errorf("mdCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got, want := mdCell("a_b *c* <d> | e"), `a\_b \*c\* &lt;d&gt; \| e`; got != want {
		t.Errorf("mdCell = %q, want %q", got, want)
	}
}

// TestRootHelpListsEveryCommand checks that the root help's command list,
// its examples and the missing-command message name every command.
func TestRootHelpListsEveryCommand(t *testing.T) {
	root := newRootCmd(&app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }})
	root.InitDefaultCompletionCmd()
	var stderr bytes.Buffer
	run(nil, &bytes.Buffer{}, &stderr)
	for _, c := range root.Commands() {
		if !c.IsAvailableCommand() {
			continue
		}
		if !strings.Contains(rootDoc, "\n  "+c.Name()+" ") {
			t.Errorf("rootDoc does not list %q", c.Name())
		}
		if !regexp.MustCompile(`\brefcmp ` + c.Name() + `\b`).MatchString(rootExample) {
			t.Errorf("rootExample has no example of %q", c.Name())
		}
		if !regexp.MustCompile(`[( ]` + c.Name() + `[,)]`).MatchString(stderr.String()) {
			t.Errorf("the missing-command message does not name %q: %s", c.Name(), stderr.String())
		}
	}
}
