package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensorfile"
)

// The worked example, docs/porting.md, is kept honest by TestDocs (its
// refcmp commands and their output) and by the tests below: the snippets
// are those of the programs they are copied from, the excerpts are those
// of the output TestDocs checks, the options are those the scripts accept,
// and the Python commands run and make the files the refcmp commands then
// read.

const portingPage = "docs/porting.md"

// portingSection returns docs/porting.md and its fenced blocks.
func portingSection(t *testing.T) (md string, blocks []mdBlock) {
	t.Helper()
	md = readDoc(t, portingPage)
	return md, fencedBlocks(md)
}

// TestDocsPortingSnippets checks that each Go, Rust and C++ snippet of
// the porting section (a block whose info string names its source file,
// "```go testdata/porting/port_side/port_side.go") appears verbatim in that
// file.
func TestDocsPortingSnippets(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	_, blocks := portingSection(t)
	langs := map[string]bool{}
	for _, b := range blocks {
		lang, file, ok := strings.Cut(b.info, " ")
		if !ok || !slices.Contains([]string{"go", "rust", "cpp", "python"}, lang) {
			continue
		}
		langs[lang] = true
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
		if err != nil {
			t.Errorf("%s:%d: %v", portingPage, b.line, err)
			continue
		}
		snippet := strings.Join(b.lines, "\n") + "\n"
		if !strings.Contains(string(src), snippet) {
			t.Errorf("%s:%d: the %s snippet is not in %s as shown; copy it from there again", portingPage, b.line, lang, file)
		}
	}
	for _, lang := range []string{"go", "rust", "cpp", "python"} {
		if !langs[lang] {
			t.Errorf(portingPage+" has no ```%s snippet naming its source file", lang)
		}
	}
}

// TestDocsExcerpts checks the excerpts of every page: a ```text block
// whose first line is a `$ go run ./cmd/refcmp ...` command shown in full
// in a ```console block of some page (which TestDocs checks). Lines "…"
// stand for left-out lines; the lines between them must appear in that
// output, consecutively and in order, and an excerpt that does not start
// (end) with "…" starts (ends) where the output does. A ```text block that
// starts with any other `$ ` command fails: nothing would check it.
func TestDocsExcerpts(t *testing.T) {
	pages := docPages(t)
	full := map[string]string{}
	for _, page := range pages {
		for _, b := range fencedBlocks(page.md) {
			if b.info == "console" {
				for _, c := range consoleCommands(t, page.path, b) {
					full[c.cmd] = c.stdout
				}
			}
		}
	}
	n := 0
	for _, page := range pages {
		for _, b := range fencedBlocks(page.md) {
			if b.info != "text" || len(b.lines) == 0 || !strings.HasPrefix(b.lines[0], "$ ") {
				continue
			}
			cmd := strings.TrimPrefix(b.lines[0], "$ ")
			if !strings.HasPrefix(cmd, "go run ./cmd/refcmp ") {
				t.Errorf("%s:%d: the excerpt's command is not `go run ./cmd/refcmp ...`, so nothing checks it: %s", page.path, b.line, cmd)
				continue
			}
			n++
			out, ok := full[cmd]
			if !ok {
				t.Errorf("%s:%d: the excerpt's command is not shown in full in a ```console block: %s", page.path, b.line, cmd)
				continue
			}
			if err := checkExcerpt(b.lines[1:], strings.Split(strings.TrimSuffix(out, "\n"), "\n")); err != nil {
				t.Errorf("%s:%d: excerpt of %s: %v", page.path, b.line, cmd, err)
			}
		}
	}
	if n == 0 {
		t.Error("no page has an excerpt")
	}
}

// checkExcerpt reports whether excerpt, with "…" lines standing for
// left-out lines, is taken from out.
func checkExcerpt(excerpt, out []string) error {
	var chunks [][]string
	var cur []string
	for _, l := range excerpt {
		if l == "…" {
			chunks = append(chunks, cur)
			cur = nil
			continue
		}
		cur = append(cur, l)
	}
	chunks = append(chunks, cur)
	at := 0
	for i, c := range chunks {
		if len(c) == 0 {
			continue
		}
		found := -1
		for j := at; j+len(c) <= len(out); j++ {
			if slices.Equal(out[j:j+len(c)], c) {
				found = j
				break
			}
			if i == 0 {
				break // the first chunk, not after "…", starts the output
			}
		}
		if found < 0 {
			return fmt.Errorf("lines %q ... are not in the output (in order, after what the excerpt showed before)", c[0])
		}
		at = found + len(c)
	}
	if last := chunks[len(chunks)-1]; len(last) > 0 && at != len(out) {
		return fmt.Errorf("the excerpt does not end with \"…\", but the output goes on after %q", out[at-1])
	}
	return nil
}

// optionRE finds the options of the first column of an options table.
var optionRE = regexp.MustCompile("`(-[-a-z]+)")

// TestDocsPortingOptions checks that every option the section's tables
// list for scripts/dump_activations.py and scripts/dump_weights.py is one
// the script's --help shows.
func TestDocsPortingOptions(t *testing.T) {
	py := testenv.Python(t) // --help needs neither numpy nor torch
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	md, _ := portingSection(t)
	lines := strings.Split(md, "\n")
	for _, script := range []string{"dump_activations.py", "dump_weights.py"} {
		header := "| `" + script + "` option |"
		i := slices.IndexFunc(lines, func(l string) bool { return strings.HasPrefix(l, header) })
		if i < 0 {
			t.Errorf(portingPage+" has no %q table", header)
			continue
		}
		cmd := exec.Command(py, filepath.Join("scripts", script), "--help")
		cmd.Dir = root
		help, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s --help: %v", script, err)
		}
		n := 0
		for _, row := range lines[i+2:] {
			if !strings.HasPrefix(row, "|") {
				break
			}
			first, _, _ := strings.Cut(strings.TrimPrefix(row, "|"), "|")
			for _, m := range optionRE.FindAllStringSubmatch(first, -1) {
				n++
				if !regexp.MustCompile(`(^|[\s,\[])` + regexp.QuoteMeta(m[1]) + `\b`).Match(help) {
					t.Errorf("%s lists %s for %s, which its --help does not show", portingPage, m[1], script)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: the %s table lists no option", portingPage, script)
		}
	}
}

// portWrites are the files of the worked example that its port writes
// itself (simulated by scripts/make_example.py), not the page's commands.
var portWrites = []string{"testdata/porting/port_loaded.txt", "testdata/porting/port_transposed_weights.safetensors"}

// portingCommand is a command of a ```sh block of the porting section.
type portingCommand struct {
	line int
	args []string
}

// portingShellCommands returns the commands of the section's ```sh blocks
// (backslash continuations joined, comments and blank lines dropped).
func portingShellCommands(t *testing.T, blocks []mdBlock) []portingCommand {
	var out []portingCommand
	for _, b := range blocks {
		if b.info != "sh" {
			continue
		}
		cur, first := "", 0
		for i, l := range b.lines {
			if cur == "" {
				if s := strings.TrimSpace(l); s == "" || strings.HasPrefix(s, "#") {
					continue
				}
				first = b.line + i
			}
			if s, ok := strings.CutSuffix(l, "\\"); ok {
				cur += s
				continue
			}
			cur += l
			out = append(out, portingCommand{first, shellWords(t, strings.TrimSpace(cur))})
			cur = ""
		}
		if cur != "" {
			t.Fatalf("%s:%d: the command ends in a continuation", portingPage, first)
		}
	}
	return out
}

// TestDocsPortingCommands runs the porting section as a new user would,
// in a scratch copy of the example: the ```sh blocks' python3 commands
// (with Debian's python3-torch and python3-numpy), then the ```python
// library snippet, then the section's refcmp commands against the fresh
// dumps. Every python3 command must succeed and write its -o file; the
// fresh dumps must agree with the committed ones (text byte for byte,
// tensors within refcmp's tolerance); every file a refcmp command reads
// must be there, and each must exit as the page shows. A `refcmp ...`
// line of a ```sh block (the port's dumps/ directory) is run on a
// directory of .bin/.npy files made from the reference dump, and must
// pass.
func TestDocsPortingCommands(t *testing.T) {
	py := testenv.Python(t, "numpy", "torch")
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	_, blocks := portingSection(t)
	cmds := portingShellCommands(t, blocks)

	// The python3 commands and what they write.
	var pyCmds []portingCommand
	var templates []portingCommand // refcmp lines of ```sh blocks
	outputs := map[string]bool{}
	for _, c := range cmds {
		switch c.args[0] {
		case "python3":
			i := slices.IndexFunc(c.args, func(a string) bool { return a == "-o" || a == "--output" })
			if i < 0 || i+1 >= len(c.args) {
				t.Fatalf("%s:%d: the python3 command names no -o file: %q", portingPage, c.line, c.args)
			}
			outputs[filepath.FromSlash(c.args[i+1])] = true
			pyCmds = append(pyCmds, c)
		case "refcmp":
			templates = append(templates, c)
		default:
			t.Fatalf("%s:%d: a ```sh command of the porting section that is neither python3 nor refcmp: %q", portingPage, c.line, c.args)
		}
	}
	if len(pyCmds) < 2 {
		t.Fatalf(portingPage+" has %d python3 commands; want the dump_weights.py and dump_activations.py ones", len(pyCmds))
	}

	// A scratch tree: scripts/, the committed files the python3 commands
	// read (the reference checkpoint, the input), and what the port writes
	// itself; everything else the refcmp commands read must come from the
	// page's commands.
	tmp := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "scripts"), filepath.Join(tmp, "scripts")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(tmp, "testdata", "porting"), 0o777); err != nil {
		t.Fatal(err)
	}
	inputs := slices.Clone(portWrites)
	for _, c := range pyCmds {
		for _, a := range c.args {
			if strings.HasPrefix(a, "testdata/") && !outputs[filepath.FromSlash(a)] {
				inputs = append(inputs, a)
			}
		}
	}
	for _, in := range inputs {
		copyFile(t, filepath.Join(root, filepath.FromSlash(in)), filepath.Join(tmp, filepath.FromSlash(in)))
	}

	python := func(line int, args ...string) {
		t.Helper()
		cmd := exec.Command(py, args...)
		cmd.Dir = tmp
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s:%d: python3 %s: %v\n%s", portingPage, line, strings.Join(args, " "), err, out)
		}
	}
	for _, c := range pyCmds {
		python(c.line, c.args[1:]...)
	}
	for out := range outputs {
		if fi, err := os.Stat(filepath.Join(tmp, out)); err != nil || fi.Size() == 0 {
			t.Errorf("the python3 commands of %s did not write %s", portingPage, out)
		}
	}

	// The library form.
	var lib *mdBlock
	for i := range blocks {
		if blocks[i].info == "python" {
			lib = &blocks[i]
		}
	}
	if lib == nil {
		t.Fatal(portingPage + " has no ```python block")
	}
	src := strings.Join(lib.lines, "\n") + "\n"
	if !strings.Contains(src, "from dump_activations import dump_activations") {
		t.Errorf("%s:%d: the ```python block does not import dump_activations", portingPage, lib.line)
	}
	var libOut []string
	for _, m := range regexp.MustCompile(`"([^"]+\.(?:safetensors|npz|txt|json))"`).FindAllStringSubmatch(src, -1) {
		libOut = append(libOut, m[1])
		_ = os.Remove(filepath.Join(tmp, m[1]))
	}
	if len(libOut) == 0 {
		t.Errorf("%s:%d: the ```python block writes no file", portingPage, lib.line)
	}
	if err := os.WriteFile(filepath.Join(tmp, "readme_snippet.py"), []byte(src), 0o666); err != nil {
		t.Fatal(err)
	}
	python(lib.line, "readme_snippet.py")

	t.Chdir(tmp)
	refcmp := func(args ...string) (string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		code := run(args, &out, &errb)
		if code == exitError {
			t.Errorf("refcmp %s: exit 2: %s", strings.Join(args, " "), errb.String())
		}
		return out.String(), code
	}
	for _, f := range libOut {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("%s:%d: the ```python block did not write %s", portingPage, lib.line, f)
		} else if strings.HasSuffix(f, ".txt") || strings.HasSuffix(f, ".json") {
			if _, code := refcmp("weights", "testdata/porting/model.safetensors", f); code != exitOK {
				t.Errorf("%s:%d: the manifest %s does not match testdata/porting/model.safetensors", portingPage, lib.line, f)
			}
		} else if _, code := refcmp("inspect", f); code != exitOK {
			t.Errorf("%s:%d: refcmp inspect %s: exit %d", portingPage, lib.line, f, code)
		}
	}

	// The fresh dumps are the committed ones.
	for out := range outputs {
		committed := filepath.Join(root, out)
		if _, err := os.Stat(committed); err != nil {
			continue
		}
		if strings.HasSuffix(out, ".txt") || strings.HasSuffix(out, ".json") {
			if got, want := readFile(t, out), readFile(t, committed); got != want {
				t.Errorf("%s from the command of %s differs from the committed one:\n%s", out, portingPage, lineDiff(want, got))
			}
		} else if report, code := refcmp("tensors", committed, out); code != exitOK {
			t.Errorf("%s from the command of %s does not match the committed one:\n%s", out, portingPage, report)
		}
	}

	// The section's refcmp commands, on the fresh files.
	n := 0
	for _, b := range blocks {
		if b.info != "console" {
			continue
		}
		for _, c := range consoleCommands(t, portingPage, b) {
			rest, ok := strings.CutPrefix(c.cmd, "go run ./cmd/refcmp ")
			if !ok {
				continue
			}
			n++
			args := shellWords(t, rest)
			for _, a := range args {
				if strings.HasPrefix(a, "testdata/") {
					if _, err := os.Stat(a); err != nil {
						t.Errorf("%s:%d: %s reads %s, which the walk-through does not make", portingPage, c.line, c.cmd, a)
					}
				}
			}
			if _, code := refcmp(args...); c.status >= 0 && code != c.status {
				t.Errorf("%s:%d: %s on the fresh dumps: exit %d, the page shows %d", portingPage, c.line, c.cmd, code, c.status)
			}
		}
	}
	if n == 0 {
		t.Error(portingPage + " has no refcmp command in a ```console block")
	}

	// The port's directory of dumps: one file per reference tensor, named
	// after it, raw .bin with a sidecar or .npy, as a port writes them.
	for _, c := range templates {
		if err := writePortDumps("testdata/porting/ref_activations.safetensors", "dumps"); err != nil {
			t.Fatal(err)
		}
		if report, code := refcmp(c.args[1:]...); code != exitOK {
			t.Errorf("%s:%d: %q on a dumps/ directory of the reference's tensors: exit %d\n%s", portingPage, c.line, c.args, code, report)
		}
	}
}

// writePortDumps writes every F32 tensor of src into dir as a port would:
// NAME.bin (little-endian, C order) with its sidecar NAME.bin.json, or
// NAME.npy, alternately.
func writePortDumps(src, dir string) error {
	l, err := tensorfile.List(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	for i, w := range l.Weights {
		tn, err := tensorfile.Load(src, w.Name)
		if err != nil {
			return err
		}
		if tn.DType.String() != "F32" {
			return fmt.Errorf("%s: %s is %s; this test writes F32 only", src, w.Name, tn.DType)
		}
		data := make([]byte, tn.Numel()*4)
		if _, err := tn.Data.ReadAt(data, 0); err != nil && err != io.EOF {
			return err
		}
		dims := make([]string, len(tn.Shape))
		for j, d := range tn.Shape {
			dims[j] = fmt.Sprint(d)
		}
		path := filepath.Join(dir, w.Name)
		if i%2 == 0 {
			side := fmt.Sprintf("{\"dtype\": \"F32\", \"shape\": [%s]}\n", strings.Join(dims, ", "))
			if err := os.WriteFile(path+".bin.json", []byte(side), 0o666); err != nil {
				return err
			}
			if err := os.WriteFile(path+".bin", data, 0o666); err != nil {
				return err
			}
			continue
		}
		tuple := "(" + strings.Join(dims, ", ") + ")"
		if len(dims) == 1 {
			tuple = "(" + dims[0] + ",)"
		}
		header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", tuple)
		header += strings.Repeat(" ", (64-(10+len(header)+1)%64)%64) + "\n"
		npy := append([]byte("\x93NUMPY\x01\x00"), binary.LittleEndian.AppendUint16(nil, uint16(len(header)))...)
		npy = append(append(npy, header...), data...)
		if err := os.WriteFile(path+".npy", npy, 0o666); err != nil {
			return err
		}
	}
	return nil
}

// TestDocsPortingPrograms builds the programs docs/porting.md's Go, Rust and C++
// snippets come from (each compiler that is installed; Go always), runs
// them, and checks that refcmp reads what they write: the manifest, and
// the raw .bin with its sidecar against the .npy (the same tensor).
func TestDocsPortingPrograms(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(root, "testdata", "porting", "port_side")
	tmp := t.TempDir()
	builds := []struct {
		lang, tool string
		args       []string
	}{
		{"go", "go", []string{"build", "-o", "EXE", filepath.Join(src, "port_side.go")}},
		{"rust", "rustc", []string{"--edition", "2021", "-o", "EXE", filepath.Join(src, "port_side.rs")}},
		{"cpp", "g++", []string{"-std=c++17", "-o", "EXE", filepath.Join(src, "port_side.cpp")}},
		{"python", "", nil}, // no build: run with a python3 that has numpy
	}
	for _, b := range builds {
		t.Run(b.lang, func(t *testing.T) {
			if b.lang == "python" {
				py := testenv.Python(t, "numpy")
				dir := filepath.Join(tmp, "out_python")
				if err := os.Mkdir(dir, 0o777); err != nil {
					t.Fatal(err)
				}
				cmd := exec.Command(py, filepath.Join(src, "port_side.py"), dir)
				cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("port_side.py %s: %v\n%s", dir, err, out)
				}
				checkPortSide(t, b.lang, dir)
				checkPythonActivations(t, dir)
				return
			}
			tool, err := exec.LookPath(b.tool)
			if err != nil {
				if b.lang == "go" {
					t.Fatalf("go not on PATH: %v", err)
				}
				t.Skipf("%s not installed", b.tool)
			}
			if b.lang != "go" && testing.Short() {
				t.Skip("-short: only the Go program")
			}
			exe := filepath.Join(tmp, "port_side_"+b.lang)
			args := slices.Clone(b.args)
			args[slices.Index(args, "EXE")] = exe
			cmd := exec.Command(tool, args...)
			cmd.Dir = tmp
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s %s: %v\n%s", b.tool, strings.Join(args, " "), err, out)
			}
			dir := filepath.Join(tmp, "out_"+b.lang)
			if err := os.Mkdir(dir, 0o777); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(exe, dir).CombinedOutput(); err != nil {
				t.Fatalf("port_side %s: %v\n%s", dir, err, out)
			}
			checkPortSide(t, b.lang, dir)
		})
	}
}

// checkPortSide checks that refcmp reads what a port_side program wrote
// into dir: the manifest, and x.bin (with its sidecar) as x.npy.
func checkPortSide(t *testing.T, lang, dir string) {
	t.Helper()
	loaded := filepath.Join(dir, "loaded.txt")
	l, err := tensorfile.ReadManifest(loaded)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, w := range l.Weights {
		got = append(got, fmt.Sprintf("%s %v %s", w.Name, w.Shape, w.DType))
	}
	if want := []string{"model.embed_tokens.weight [64 32] F32", "model.lm_head.weight [64 32] F32"}; !slices.Equal(got, want) {
		t.Errorf("refcmp reads the %s manifest as %q, want %q", lang, got, want)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"weights", loaded, loaded}, &stdout, &stderr); code != exitOK {
		t.Errorf("refcmp weights on the %s manifest: exit %d\n%s%s", lang, code, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"tensors", filepath.Join(dir, "x.npy"), filepath.Join(dir, "x.bin"), "--exact"}, &stdout, &stderr); code != exitOK {
		t.Errorf("refcmp tensors --exact x.npy x.bin (%s): exit %d\n%s%s", lang, code, stdout.String(), stderr.String())
	}
}

// checkPythonActivations checks the numpy port's activations: the .npz
// and the .safetensors hold the same tensors, both in the order the port
// computed them (layers.10 before layers.2, which a natural sort would
// not give).
func checkPythonActivations(t *testing.T, dir string) {
	t.Helper()
	npz, st := filepath.Join(dir, "acts.npz"), filepath.Join(dir, "acts.safetensors")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"tensors", "--exact", npz, st}, &stdout, &stderr); code != exitOK {
		t.Errorf("refcmp tensors --exact acts.npz acts.safetensors: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	for _, f := range []string{npz, st} {
		c, err := tensorfile.Open(f, tensorfile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, x := range c.Tensors {
			got = append(got, x.Name)
		}
		ordered := c.Ordered || c.Order != nil
		c.Close()
		if want := []string{"layers.10.out", "layers.2.out", "logits"}; !slices.Equal(got, want) || !ordered {
			t.Errorf("%s: tensors %q (ordered %v), want %q in that order", f, got, ordered, want)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o666); err != nil {
		t.Fatal(err)
	}
}
