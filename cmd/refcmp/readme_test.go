package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/testenv"
)

// TestReadme runs the commands README.md shows, so the README cannot go
// stale:
//
//   - the first ```sh block (Quick start) holds exactly the two set-up
//     commands: a `go run ./cmd/refcmp ...` shown with its output in a
//     ```console block, and the test command, which .ci/run must run as is;
//   - every `$ go run ./cmd/refcmp ...` line of a ```console block runs
//     in-process from the module root; the lines up to the next `$ ` are
//     its stdout, exactly, and `$ echo $?` is followed by its exit status.
//
// With -update, outputs that differ are rewritten in README.md.
func TestReadme(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	md := readReadme(t)
	blocks := fencedBlocks(md)
	t.Chdir(root)

	shown := map[string]bool{} // commands run from console blocks
	lines := strings.Split(md, "\n")
	type edit struct {
		line, n int // replace n lines after line (1-based) ...
		text    string
	}
	var edits []edit // ... with text, for -update
	for _, b := range blocks {
		if b.info != "console" {
			continue
		}
		for _, c := range consoleCommands(t, b) {
			shown[c.cmd] = true
			if !strings.HasPrefix(c.cmd, "go run ./cmd/refcmp ") {
				continue
			}
			t.Run(fmt.Sprintf("README.md:%d", c.line), func(t *testing.T) {
				args := shellWords(t, strings.TrimPrefix(c.cmd, "go run ./cmd/refcmp "))
				var stdout, stderr bytes.Buffer
				code := run(args, &stdout, &stderr)
				if stderr.Len() > 0 {
					t.Errorf("%s\nwrote to stderr:\n%s", c.cmd, stderr.String())
				}
				if got := stdout.String(); got != c.stdout && *update {
					edits = append(edits, edit{c.line, c.nstdout, got})
				} else if got != c.stdout {
					t.Errorf("%s\nREADME.md:%d shows output that is not what refcmp prints now.\n%s", c.cmd, c.line, lineDiff(c.stdout, got))
				}
				if c.status >= 0 && code != c.status {
					t.Errorf("%s\nexit status %d, README shows %d", c.cmd, code, c.status)
				}
			})
		}
	}

	if len(edits) > 0 {
		var out []string
		next := 0
		for _, e := range edits {
			out = append(out, lines[next:e.line]...)
			out = append(out, strings.Split(strings.TrimSuffix(e.text, "\n"), "\n")...)
			next = e.line + e.n
		}
		out = append(out, lines[next:]...)
		if err := os.WriteFile(filepath.Join(root, "README.md"), []byte(strings.Join(out, "\n")), 0o666); err != nil {
			t.Fatal(err)
		}
		t.Logf("README.md: rewrote the output of %d commands", len(edits))
	}

	var quick *mdBlock
	for i := range blocks {
		if blocks[i].info == "sh" {
			quick = &blocks[i]
			break
		}
	}
	if quick == nil {
		t.Fatal("README.md has no ```sh block with the set-up commands")
	}
	var cmds []string
	for _, l := range quick.lines {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			cmds = append(cmds, l)
		}
	}
	if len(cmds) != 2 || !strings.HasPrefix(cmds[0], "go run ./cmd/refcmp ") {
		t.Fatalf("README.md:%d: the Quick start block should hold two commands, `go run ./cmd/refcmp ...` and the test command; it holds %q", quick.line, cmds)
	}
	if !shown["go run ./cmd/refcmp "+strings.TrimPrefix(cmds[0], "go run ./cmd/refcmp ")] {
		t.Errorf("README.md:%d: %q is not shown with its output in a ```console block, so nothing checks it", quick.line, cmds[0])
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, l := range strings.Split(string(ci), "\n") {
		found = found || strings.TrimSpace(l) == cmds[1]
	}
	if !found {
		t.Errorf(".ci/run does not run README's test command %q", cmds[1])
	}
}

// mdBlock is one fenced code block of a Markdown file.
type mdBlock struct {
	info  string   // the info string after the opening fence
	line  int      // 1-based line of the first content line
	lines []string // the content
}

func fencedBlocks(md string) []mdBlock {
	var out []mdBlock
	var cur *mdBlock
	for i, l := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(l, "```"):
			cur = &mdBlock{info: strings.TrimSpace(strings.TrimPrefix(l, "```")), line: i + 2}
		case cur != nil && strings.TrimSpace(l) == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, l)
		}
	}
	return out
}

// consoleCommand is a `$ command` line of a console block and what
// follows it.
type consoleCommand struct {
	cmd     string
	line    int // 1-based line of the command
	nstdout int // lines of output shown
	stdout  string
	status  int // -1 when no `$ echo $?` follows
}

func consoleCommands(t *testing.T, b mdBlock) []consoleCommand {
	var out []consoleCommand
	for i := 0; i < len(b.lines); i++ {
		l := b.lines[i]
		if !strings.HasPrefix(l, "$ ") {
			t.Fatalf("README.md:%d: console block line does not belong to a command: %q", b.line+i, l)
		}
		c := consoleCommand{cmd: strings.TrimPrefix(l, "$ "), line: b.line + i, status: -1}
		var stdout strings.Builder
		for i+1 < len(b.lines) && !strings.HasPrefix(b.lines[i+1], "$ ") {
			i++
			stdout.WriteString(b.lines[i] + "\n")
		}
		c.stdout = stdout.String()
		c.nstdout = strings.Count(c.stdout, "\n")
		if i+2 < len(b.lines) && b.lines[i+1] == "$ echo $?" {
			n, err := strconv.Atoi(b.lines[i+2])
			if err != nil {
				t.Fatalf("README.md:%d: `$ echo $?` is not followed by a number", b.line+i+1)
			}
			c.status = n
			i += 2
		}
		out = append(out, c)
	}
	return out
}

// shellWords splits a command line as a POSIX shell would, for the
// quoting README commands use: 'single', "double" (with \" \\ \$ \`
// escapes) and backslash escapes. Anything that would need a real shell
// (pipes, redirections, variables, globs) fails the test.
func shellWords(t *testing.T, s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated ' in %q", s)
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0 {
					i++
				} else if s[i] == '$' || s[i] == '`' {
					t.Fatalf("README command needs a shell (expansion in double quotes): %q", s)
				}
				w.WriteByte(s[i])
			}
			if i >= len(s) {
				t.Fatalf("unterminated \" in %q", s)
			}
			inWord = true
		case c == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		case strings.IndexByte("|&;<>()$`*?[~#", c) >= 0:
			t.Fatalf("README command needs a shell (%q): %q", c, s)
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// lineDiff shows where two texts part, line by line.
func lineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g || i >= len(wl) || i >= len(gl) {
			fmt.Fprintf(&b, "first difference at output line %d:\n- README: %q\n+ refcmp: %q\n\nrefcmp prints:\n%s", i+1, w, g, got)
			return b.String()
		}
	}
	return "(same lines)"
}

// TestReadmeJSONContract checks that each ```jsonc block of README.md that
// describes a JSON document names exactly the keys that document has.
func TestReadmeJSONContract(t *testing.T) {
	docs := map[string]string{}
	for _, b := range fencedBlocks(readReadme(t)) {
		docs[b.info] = strings.Join(b.lines, "\n")
	}
	// docs/hints.md documents the diagnosis fields of the tensors report.
	if root, err := testenv.ModuleRoot(); err == nil {
		if md, err := os.ReadFile(filepath.Join(root, "docs", "hints.md")); err == nil {
			for _, b := range fencedBlocks(string(md)) {
				if strings.HasPrefix(b.info, "jsonc tensors-") {
					docs["jsonc tensors"] += "\n" + strings.Join(b.lines, "\n")
				}
			}
		}
	}
	for _, c := range []struct {
		block string
		typ   reflect.Type
	}{
		{"jsonc weights", reflect.TypeFor[diffing.WeightsReport]()},
		{"jsonc tensors", reflect.TypeFor[tensorsReport]()},
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
		jsonKeys(c.typ, actual)
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

// readReadme returns README.md.
func readReadme(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// jsonKeys collects the JSON object keys of t and the types inside it;
// fields of embedded structs count as the outer struct's.
func jsonKeys(t reflect.Type, keys map[string]bool) {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map:
		jsonKeys(t.Elem(), keys)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if f.Anonymous && name == "" {
				jsonKeys(f.Type, keys)
				continue
			}
			if name == "" {
				name = f.Name
			}
			keys[name] = true
			jsonKeys(f.Type, keys)
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
