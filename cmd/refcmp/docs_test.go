package main

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/golden"
	"github.com/refcmp/refcmp/diffing/weights"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensorfile"
	"github.com/spf13/pflag"
)

// docPage is one Markdown page whose examples the tests run: README.md or
// a page of docs/.
type docPage struct {
	path string // slash-separated, from the module root
	md   string
}

// docPages returns README.md and every docs/*.md, so a new page is
// checked without being listed anywhere.
func docPages(t *testing.T) []docPage {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("docs/ has no page")
	}
	pages := []docPage{{"README.md", readDoc(t, "README.md")}}
	for _, f := range files {
		path := "docs/" + filepath.Base(f)
		pages = append(pages, docPage{path, readDoc(t, path)})
	}
	return pages
}

// readDoc returns the page at path (slash-separated, from the module root).
func readDoc(t *testing.T, path string) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(path)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestDocs runs the commands README.md and docs/*.md show, so no page can
// go stale: every `$ go run ./cmd/refcmp ...` line of a ```console block
// runs in-process from the module root; the lines up to the next `$ ` are
// its stdout, exactly, and `$ echo $?` is followed by its exit status. A
// console block may hold nothing else, so none is left unchecked.
//
// With -update, outputs that differ are rewritten in the pages.
func TestDocs(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	n := 0
	for _, page := range docPages(t) {
		lines := strings.Split(page.md, "\n")
		type edit struct {
			line, n int // replace n lines after line (1-based) ...
			text    string
		}
		var edits []edit // ... with text, for -update
		for _, b := range fencedBlocks(page.md) {
			if b.info != "console" {
				continue
			}
			for _, c := range consoleCommands(t, page.path, b) {
				rest, ok := strings.CutPrefix(c.cmd, "go run ./cmd/refcmp ")
				if !ok {
					t.Errorf("%s:%d: console command %q is not `go run ./cmd/refcmp ...`, so no test runs it; show it in a ```sh block or run it from a test", page.path, c.line, c.cmd)
					continue
				}
				n++
				t.Run(fmt.Sprintf("%s:%d", page.path, c.line), func(t *testing.T) {
					args := shellWords(t, rest)
					var stdout, stderr bytes.Buffer
					code := run(args, &stdout, &stderr)
					if stderr.Len() > 0 {
						t.Errorf("%s\nwrote to stderr:\n%s", c.cmd, stderr.String())
					}
					if got := stdout.String(); got != c.stdout && *update {
						edits = append(edits, edit{c.line, c.nstdout, got})
					} else if got != c.stdout {
						t.Errorf("%s\n%s:%d shows output that is not what refcmp prints now.\n%s", c.cmd, page.path, c.line, lineDiff(c.stdout, got))
					}
					if c.status >= 0 && code != c.status {
						t.Errorf("%s\nexit status %d, %s shows %d", c.cmd, code, page.path, c.status)
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
			if err := os.WriteFile(filepath.Join(root, filepath.FromSlash(page.path)), []byte(strings.Join(out, "\n")), 0o666); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: rewrote the output of %d commands", page.path, len(edits))
		}
	}
	if n == 0 {
		t.Error("no page shows a refcmp command in a ```console block")
	}
}

// TestReadme checks README.md's Quick start: its first ```sh block holds
// exactly the two set-up commands, a `go run ./cmd/refcmp ...` shown with
// its output in a ```console block (which TestDocs runs), and the test
// command, which .ci/run must run as is. It also checks that the README
// links every page of docs/.
func TestReadme(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	md := readDoc(t, "README.md")
	blocks := fencedBlocks(md)
	shown := map[string]bool{}
	for _, b := range blocks {
		if b.info == "console" {
			for _, c := range consoleCommands(t, "README.md", b) {
				shown[c.cmd] = true
			}
		}
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
	if !shown[cmds[0]] {
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
	for _, page := range docPages(t)[1:] {
		if !strings.Contains(md, "]("+page.path+")") {
			t.Errorf("README.md does not link %s", page.path)
		}
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
	fence, indent := "", "" // the open fence (``` or ~~~~, which may hold ``` blocks) and its indent (in a list item)
	for i, l := range strings.Split(md, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		switch {
		case cur == nil && (strings.HasPrefix(trimmed, "```") || strings.HasPrefix(trimmed, "~~~~")):
			fence, indent = trimmed[:3], l[:len(l)-len(trimmed)]
			if fence == "~~~" {
				fence = "~~~~"
			}
			cur = &mdBlock{info: strings.TrimSpace(strings.TrimLeft(trimmed, "`~")), line: i + 2}
		case cur != nil && strings.TrimSpace(l) == fence:
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.lines = append(cur.lines, strings.TrimPrefix(l, indent))
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

func consoleCommands(t *testing.T, page string, b mdBlock) []consoleCommand {
	var out []consoleCommand
	for i := 0; i < len(b.lines); i++ {
		l := b.lines[i]
		if !strings.HasPrefix(l, "$ ") {
			t.Fatalf("%s:%d: console block line does not belong to a command: %q", page, b.line+i, l)
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
				t.Fatalf("%s:%d: `$ echo $?` is not followed by a number", page, b.line+i+1)
			}
			c.status = n
			i += 2
		}
		out = append(out, c)
	}
	return out
}

// shellWords splits a command line as a POSIX shell would, for the
// quoting the docs' commands use: 'single', "double" (with \" \\ \$ \`
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
					t.Fatalf("command needs a shell (expansion in double quotes): %q", s)
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
			t.Fatalf("command needs a shell (%q): %q", c, s)
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
			fmt.Fprintf(&b, "first difference at output line %d:\n- docs:   %q\n+ refcmp: %q\n\nrefcmp prints:\n%s", i+1, w, g, got)
			return b.String()
		}
	}
	return "(same lines)"
}

// TestDocsJSONContract checks that each ```jsonc block of docs/json.md,
// the stable interface, names exactly the keys its document has.
func TestDocsJSONContract(t *testing.T) {
	const page = "docs/json.md"
	docs := map[string]string{}
	for _, b := range fencedBlocks(readDoc(t, page)) {
		docs[b.info] = strings.Join(b.lines, "\n")
	}
	// docs/hints.md documents the diagnosis fields of the tensors report.
	for _, b := range fencedBlocks(readDoc(t, "docs/hints.md")) {
		if strings.HasPrefix(b.info, "jsonc tensors-") {
			docs["jsonc tensors"] += "\n" + strings.Join(b.lines, "\n")
		}
	}
	for _, c := range []struct {
		block string
		typ   reflect.Type
	}{
		{"jsonc weights", reflect.TypeFor[weights.Report]()},
		{"jsonc tensors", reflect.TypeFor[diffing.Report]()},
		{"jsonc golden-file", reflect.TypeFor[golden.File]()},
		{"jsonc golden-check", reflect.TypeFor[golden.Report]()},
		{"jsonc inspect", reflect.TypeFor[inspectReport]()},
	} {
		doc, ok := docs[c.block]
		if !ok {
			t.Errorf("%s has no ```%s block", page, c.block)
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
				t.Errorf("%s: JSON key %q is not documented in %s", c.block, k, page)
			}
		}
		for k := range documented {
			if !actual[k] {
				t.Errorf("%s: %s documents JSON key %q, which %s does not have", c.block, page, k, c.typ)
			}
		}
	}
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
// docs/reference.md's golden example checks against, is what `golden record`
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

// TestDocsShellCommands checks the `refcmp ...` commands of every page's
// ```sh blocks, which run on files the reader has (a checkpoint, a port's
// dumps) and so cannot run here: each must parse (command, flags, flag
// values, number of arguments), so the examples cannot go stale as flags
// change. Comments (` # ...`) and redirections are left out.
func TestDocsShellCommands(t *testing.T) {
	n := 0
	for _, page := range docPages(t) {
		for _, b := range fencedBlocks(page.md) {
			if b.info != "sh" {
				continue
			}
			cur, first := "", 0
			for i, l := range b.lines {
				if cur == "" {
					first = b.line + i
				}
				if s, ok := strings.CutSuffix(l, "\\"); ok {
					cur += s
					continue
				}
				cmd := strings.TrimSpace(cur + l)
				cur = ""
				for _, sep := range []string{" # ", " >", " | "} {
					if j := strings.Index(cmd, sep); j >= 0 {
						cmd = cmd[:j]
					}
				}
				rest, ok := strings.CutPrefix(cmd, "refcmp ")
				if !ok {
					continue
				}
				n++
				if err := parseArgs(shellWords(t, rest)); err != nil && !errors.Is(err, pflag.ErrHelp) {
					t.Errorf("%s:%d: %s: %v", page.path, first, cmd, err)
				}
			}
		}
	}
	if n == 0 {
		t.Error("no page has a refcmp command in a ```sh block")
	}
}

// TestDocsAPI checks docs/api.md: its ```go block is valid Go, and the
// `res.Summary()` text it shows is what the library words for the worked
// example's bug (the port's attention scores against the reference's),
// called as the block calls it.
func TestDocsAPI(t *testing.T) {
	const page = "docs/api.md"
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var code, summary *mdBlock
	blocks := fencedBlocks(readDoc(t, page))
	for i := range blocks {
		switch b := &blocks[i]; {
		case b.info == "go" && code == nil:
			code = b
		case b.info == "text" && summary == nil:
			summary = b
		}
	}
	if code == nil || summary == nil {
		t.Fatalf("%s: want a ```go block and a ```text block with res.Summary()", page)
	}
	src := "package port\n\n" + strings.Join(code.lines, "\n") + "\n"
	if _, err := parser.ParseFile(token.NewFileSet(), page, src, 0); err != nil {
		t.Errorf("%s:%d: the ```go block is not valid Go: %v", page, code.line, err)
	}

	const scores = "layers.0.self_attn.scores"
	ref, err := tensorfile.Load(filepath.Join(root, "testdata/porting/ref_activations.safetensors"), scores)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := tensorfile.Load(filepath.Join(root, "testdata/porting/port_activations.safetensors"), scores)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := diffing.Float64s(ours)
	if err != nil {
		t.Fatal(err)
	}
	f32 := make([]float32, len(vals)) // the port's own []float32, as the block has it
	for i, v := range vals {
		f32[i] = float32(v)
	}
	res, err := diffing.CompareSlice(ref, f32, nil, diffing.Tolerance{})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(summary.lines, "\n")
	if got := strings.TrimSuffix(res.Summary(), "\n"); got != want {
		t.Errorf("%s:%d: res.Summary() is not what the page shows:\n%s", page, summary.line, lineDiff(want, got))
	}
}

// TestDocsJSONExamples checks every ```json block of every page: each is a
// config file refcmp accepts (unknown keys are errors there) or a
// manifest it reads.
func TestDocsJSONExamples(t *testing.T) {
	n := 0
	for _, page := range docPages(t) {
		for _, b := range fencedBlocks(page.md) {
			if b.info != "json" {
				continue
			}
			n++
			src := strings.Join(b.lines, "\n") + "\n"
			_, cerr := parseConfig("config.json", []byte(src))
			if cerr == nil {
				continue
			}
			if _, merr := tensorfile.ParseManifest("manifest.json", strings.NewReader(src)); merr != nil {
				t.Errorf("%s:%d: the ```json block is neither a config (%v) nor a manifest (%v)", page.path, b.line, cerr, merr)
			}
		}
	}
	if n == 0 {
		t.Error("no page has a ```json block")
	}
}

// TestDocsAPIPackages checks docs/api.md's list of package docs: every
// `go doc` line names a package of the module with a package doc comment
// and at least one Example with an // Output: comment (so go test runs
// it), and every package the Go API is made of is listed.
func TestDocsAPIPackages(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	const module = "github.com/refcmp/refcmp/"
	var listed []string
	for _, b := range fencedBlocks(readDoc(t, "docs/api.md")) {
		for _, l := range b.lines {
			if rest, ok := strings.CutPrefix(l, "go doc -all "+module); ok && b.info == "sh" {
				listed = append(listed, strings.Fields(rest)[0])
			}
		}
	}
	for _, want := range []string{"tensor", "tensorfile", "tensorfile/gguf", "diffing", "diffing/weights", "diffing/golden", "diffing/names"} {
		if !slices.Contains(listed, want) {
			t.Errorf("docs/api.md lists no `go doc -all %s%s`", module, want)
		}
	}
	for _, pkg := range listed {
		fset := token.NewFileSet()
		pkgs, err := parser.ParseDir(fset, filepath.Join(root, filepath.FromSlash(pkg)), nil, parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", pkg, err)
			continue
		}
		doc, examples := false, 0
		for _, p := range pkgs {
			for name, f := range p.Files {
				if f.Doc != nil && !strings.HasSuffix(name, "_test.go") {
					doc = true
				}
				if !strings.HasSuffix(name, "_test.go") {
					continue
				}
				for _, d := range f.Decls {
					fn, ok := d.(*ast.FuncDecl)
					if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Example") {
						continue
					}
					for _, cg := range f.Comments {
						if cg.Pos() > fn.Body.Lbrace && cg.End() < fn.Body.Rbrace && strings.HasPrefix(cg.Text(), "Output:") {
							examples++
							break
						}
					}
				}
			}
		}
		if !doc {
			t.Errorf("%s: no package doc comment", pkg)
		}
		if examples == 0 {
			t.Errorf("%s: no Example with an // Output: comment", pkg)
		}
	}
}
