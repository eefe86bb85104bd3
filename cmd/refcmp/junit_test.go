package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/golden"
	"github.com/refcmp/refcmp/diffing/weights"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

// The JUnit tests read the XML back with encoding/xml into structures of
// their own (the schema reporters read: testsuites > testsuite > testcase
// > failure/skipped), check it is consistent, and compare the cases with
// the command's JSON report.

type xSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  *int     `xml:"skipped,attr"` // not in Jenkins' junit-10.xsd: must be absent
	Time     string   `xml:"time,attr"`
	Suites   []xSuite `xml:"testsuite"`
}

type xSuite struct {
	Name       string  `xml:"name,attr"`
	Tests      int     `xml:"tests,attr"`
	Failures   int     `xml:"failures,attr"`
	Errors     int     `xml:"errors,attr"`
	Skipped    int     `xml:"skipped,attr"`
	Time       string  `xml:"time,attr"`
	Properties []xProp `xml:"properties>property"`
	Cases      []xCase `xml:"testcase"`
	SystemOut  string  `xml:"system-out"`
}

type xProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type xCase struct {
	Name      string `xml:"name,attr"`
	Classname string `xml:"classname,attr"`
	Time      string `xml:"time,attr"`
	Failure   *struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	} `xml:"failure"`
	Error   *struct{} `xml:"error"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

func (s xSuite) prop(name string) string {
	for _, p := range s.Properties {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// failing returns the failing cases as "classname name" -> type.
func (s xSuite) failing() map[string]string {
	m := map[string]string{}
	for _, c := range s.Cases {
		if c.Failure != nil {
			m[c.Classname+" "+c.Name] = c.Failure.Type
		}
	}
	return m
}

func (s xSuite) find(t *testing.T, classname, name string) xCase {
	t.Helper()
	for _, c := range s.Cases {
		if c.Classname == classname && c.Name == name {
			return c
		}
	}
	t.Fatalf("no testcase %s %q", classname, name)
	return xCase{}
}

// inModuleRoot runs the test from the module root, so inputs are the
// relative paths the README shows.
func inModuleRoot(t *testing.T) string {
	t.Helper()
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	return root
}

// runCLI runs refcmp in-process with a fixed environment.
func runCLI(t *testing.T, env map[string]string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	a := &app{stdout: &o, stderr: &e, getenv: func(k string) string { return env[k] }}
	code = a.run(args)
	return o.String(), e.String(), code
}

// runJUnit runs args with --format junit, checks the exit status, that
// nothing went to stderr, that the same run gives the same bytes, and
// that the document is well-formed and consistent; it returns the one
// suite.
func runJUnit(t *testing.T, wantCode int, args ...string) xSuite {
	t.Helper()
	args = append(append([]string{}, args...), "--format", "junit")
	out, errOut, code := runCLI(t, nil, args...)
	if code != wantCode || errOut != "" {
		t.Fatalf("refcmp %s: exit %d (want %d), stderr %q", strings.Join(args, " "), code, wantCode, errOut)
	}
	again, _, _ := runCLI(t, nil, args...)
	if again != out {
		t.Errorf("refcmp %s: two runs gave different bytes", strings.Join(args, " "))
	}
	if !strings.HasPrefix(out, xml.Header) || !strings.HasSuffix(out, "</testsuites>\n") {
		t.Errorf("not an XML document with a declaration and one trailing newline:\n%.200s", out)
	}
	checkJUnitSchema(t, out)
	var doc xSuites
	if err := xml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	if len(doc.Suites) != 1 {
		t.Fatalf("%d testsuites, want 1", len(doc.Suites))
	}
	s := doc.Suites[0]
	var fails, skips int
	for _, c := range s.Cases {
		if c.Name == "" || c.Classname == "" || c.Time != "0" {
			t.Errorf("testcase %+v: want name, classname and time=\"0\"", c)
		}
		if c.Error != nil {
			t.Errorf("testcase %q has an <error>: differences are failures", c.Name)
		}
		if c.Failure != nil {
			fails++
			f := c.Failure
			if f.Message == "" || f.Type == "" || strings.TrimSpace(f.Text) == "" || strings.Contains(f.Message, "\n") {
				t.Errorf("testcase %q: failure needs a one-line message, a type and the diagnosis text: %+v", c.Name, *f)
			}
		}
		if c.Skipped != nil {
			skips++
		}
	}
	if s.Tests != len(s.Cases) || s.Failures != fails || s.Skipped != skips || s.Errors != 0 || s.Time != "0" {
		t.Errorf("testsuite counts tests=%d failures=%d skipped=%d errors=%d time=%q; the cases say %d, %d, %d, 0, \"0\"",
			s.Tests, s.Failures, s.Skipped, s.Errors, s.Time, len(s.Cases), fails, skips)
	}
	if doc.Name != "refcmp" || doc.Tests != s.Tests || doc.Failures != s.Failures || doc.Skipped != nil || doc.Errors != 0 || doc.Time != "0" {
		t.Errorf("testsuites totals %+v do not match the testsuite", doc)
	}
	if (fails > 0) != (code == exitDiff) {
		t.Errorf("%d failures but exit %d", fails, code)
	}
	return s
}

// junitSchema is what Jenkins' xUnit plugin's junit-10.xsd allows (the
// strictest of the common readers): for each element, the attributes it
// may have (required ones marked with !) and the elements it may hold.
var junitSchema = map[string]struct{ attrs, children []string }{
	"testsuites": {[]string{"name", "time", "tests", "failures", "errors"}, []string{"testsuite"}},
	"testsuite": {[]string{"name!", "tests!", "failures!", "errors!", "group", "time", "skipped", "timestamp", "hostname", "id", "package", "file", "log", "url"},
		[]string{"testsuite", "properties", "testcase", "system-out", "system-err"}},
	"properties": {nil, []string{"property"}},
	"property":   {[]string{"name!", "value!"}, nil},
	"testcase":   {[]string{"name!", "time", "classname", "group"}, []string{"skipped", "error", "failure", "system-out", "system-err"}},
	"failure":    {[]string{"type", "message"}, nil},
	"error":      {[]string{"type", "message"}, nil},
	"skipped":    {[]string{"type", "message"}, nil},
	"system-out": {nil, nil},
	"system-err": {nil, nil},
}

// checkJUnitSchema reads every token of doc with a strict decoder (so it
// is well-formed) and checks elements, attributes and nesting against
// junitSchema, and that times match the schema's pattern.
func checkJUnitSchema(t *testing.T, doc string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	var stack []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("malformed XML: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			name := e.Name.Local
			rule, ok := junitSchema[name]
			if !ok {
				t.Fatalf("element <%s> is not in the JUnit schema", name)
			}
			if len(stack) == 0 && name != "testsuites" {
				t.Fatalf("root is <%s>, want <testsuites>", name)
			}
			if len(stack) > 0 && !slices.Contains(junitSchema[stack[len(stack)-1]].children, name) {
				t.Fatalf("<%s> may not hold <%s>", stack[len(stack)-1], name)
			}
			have := map[string]bool{}
			for _, a := range e.Attr {
				have[a.Name.Local] = true
				if !slices.Contains(rule.attrs, a.Name.Local) && !slices.Contains(rule.attrs, a.Name.Local+"!") {
					t.Fatalf("<%s> may not have the attribute %s", name, a.Name.Local)
				}
				if a.Name.Local == "time" && !regexp.MustCompile(`^[0-9]*(\.[0-9]*)?$`).MatchString(a.Value) {
					t.Fatalf("<%s time=%q> is not a number", name, a.Value)
				}
			}
			for _, a := range rule.attrs {
				if strings.HasSuffix(a, "!") && !have[strings.TrimSuffix(a, "!")] {
					t.Fatalf("<%s> lacks the required attribute %s", name, strings.TrimSuffix(a, "!"))
				}
			}
			stack = append(stack, name)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		}
	}
}

func jsonReport(t *testing.T, v any, args ...string) {
	t.Helper()
	out, errOut, code := runCLI(t, nil, append(append([]string{}, args...), "--format", "json")...)
	if code == exitError {
		t.Fatalf("refcmp %s: %s", strings.Join(args, " "), errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatal(err)
	}
}

func TestJUnitWeights(t *testing.T) {
	inModuleRoot(t)
	args := []string{"weights", "testdata/example/expected.safetensors", "testdata/example/loaded.txt"}
	s := runJUnit(t, exitDiff, args...)
	var rep weights.Report
	jsonReport(t, &rep, args...)

	if s.Name != "refcmp weights testdata/example/expected.safetensors testdata/example/loaded.txt" {
		t.Errorf("suite name %q", s.Name)
	}
	if v := s.prop("verdict"); !strings.HasPrefix(v, "FAIL: 7 missing, 6 unexpected, 4 shape mismatches") {
		t.Errorf("verdict property %q", v)
	}
	// One case per expected weight and per unexpected one.
	expected := 0
	for _, c := range s.Cases {
		if c.Classname == "refcmp.weights" {
			expected++
		}
	}
	if expected != rep.Expected.Tensors || len(s.Cases) != rep.Expected.Tensors+len(rep.Unexpected) {
		t.Errorf("%d cases (%d expected), report has %d expected and %d unexpected weights", len(s.Cases), expected, rep.Expected.Tensors, len(rep.Unexpected))
	}
	want := map[string]string{}
	for _, m := range rep.Missing {
		want["refcmp.weights "+m.Name] = "missing"
	}
	for _, m := range rep.DTypeMismatch {
		want["refcmp.weights "+m.Name] = "dtype_mismatch"
	}
	for _, m := range rep.ShapeMismatch {
		want["refcmp.weights "+m.Name] = "shape_mismatch"
	}
	for _, u := range rep.Unexpected {
		want["refcmp.weights.unexpected "+u.Name] = "unexpected"
	}
	if got := s.failing(); !mapsEqual(got, want) {
		t.Errorf("failing cases\n got %v\nwant %v", got, want)
	}
	// The diagnosis: numbers and hints, with the fix.
	c := s.find(t, "refcmp.weights", "model.layers.0.mlp.down_proj.weight")
	for _, w := range []string{"shape: expected [16 48], loaded [48 16]", "hint: transposed"} {
		if !strings.Contains(c.Failure.Text, w) {
			t.Errorf("down_proj failure text lacks %q:\n%s", w, c.Failure.Text)
		}
	}
	c = s.find(t, "refcmp.weights", "model.embed_tokens.weight")
	if !strings.Contains(c.Failure.Text, "fix: --map '^((?:embed_tokens|norm)\\.)=model.${1}'") {
		t.Errorf("embed_tokens failure text lacks the --map fix:\n%s", c.Failure.Text)
	}

	// With the config: ignored weights are skipped, tied ones pass.
	args = append(args, "--config", "testdata/example/refcmp.json", "--ignore", "*.post_attention_layernorm.weight")
	s = runJUnit(t, exitDiff, args...)
	rep = weights.Report{}
	jsonReport(t, &rep, args...)
	var skipped []string
	for _, c := range s.Cases {
		if c.Skipped != nil {
			skipped = append(skipped, c.Name)
			if c.Skipped.Message != "ignored by --ignore" {
				t.Errorf("skipped %q: message %q", c.Name, c.Skipped.Message)
			}
		}
	}
	if !slices.Equal(skipped, rep.Ignored.Expected) || len(skipped) != 4 {
		t.Errorf("skipped %v, ignored %v", skipped, rep.Ignored.Expected)
	}
	if s.Failures != len(rep.ShapeMismatch) || s.Failures != 4 {
		t.Errorf("%d failures, want the %d shape mismatches", s.Failures, len(rep.ShapeMismatch))
	}
	if c := s.find(t, "refcmp.weights", "lm_head.weight"); c.Failure != nil || c.Skipped != nil {
		t.Errorf("tied lm_head.weight should pass: %+v", c)
	}
}

func TestJUnitTensors(t *testing.T) {
	inModuleRoot(t)
	args := []string{"tensors", "testdata/porting/ref_activations.safetensors", "testdata/porting/port_activations.safetensors"}
	s := runJUnit(t, exitDiff, args...)
	var rep diffing.Report
	jsonReport(t, &rep, args...)

	if len(s.Cases) != len(rep.Tensors) {
		t.Fatalf("%d cases, %d pairs", len(s.Cases), len(rep.Tensors))
	}
	for i, r := range rep.Tensors {
		c := s.Cases[i]
		if c.Name != r.Name || c.Classname != "refcmp.tensors" || (c.Failure == nil) != r.Pass {
			t.Errorf("case %d: %s %s failed=%v; pair %s pass=%v", i, c.Classname, c.Name, c.Failure != nil, r.Name, r.Pass)
		}
	}
	first := s.find(t, "refcmp.tensors", *rep.FirstFailure)
	for _, w := range []string{
		"first divergence: step 5 of 18; steps 0-4 pass",
		"worst: |diff| 1.935 at [0 1 5 5]",
		"scaled: ours ≈ 2.828 × ref",
		"tolerance: allclose: |ours - ref| <= atol + rtol * |ref|",
	} {
		if !strings.Contains(first.Failure.Text, w) {
			t.Errorf("first failure text lacks %q:\n%s", w, first.Failure.Text)
		}
	}
	if first.Failure.Type != "allclose" || !strings.HasPrefix(first.Failure.Message, "step 5: 256 of 256 elements beyond tolerance") {
		t.Errorf("first failure type %q message %q", first.Failure.Type, first.Failure.Message)
	}
	if !strings.Contains(s.SystemOut, "sequence (metadata order, 18 steps)") {
		t.Errorf("system-out lacks the sequence profile:\n%s", s.SystemOut)
	}

	// Names on one side only, and ignored ones.
	s = runJUnit(t, exitDiff, "tensors", "testdata/porting/ref_activations.safetensors", "testdata/porting/ref_activations.safetensors",
		"--map", `^norm$=normx`, "--ignore", "lm_head")
	want := map[string]string{
		"refcmp.tensors norm":           "ref_only",
		"refcmp.tensors.ours_only norm": "ours_only",
	}
	if got := s.failing(); !mapsEqual(got, want) {
		t.Errorf("failing cases\n got %v\nwant %v", got, want)
	}
	if c := s.find(t, "refcmp.tensors", "lm_head"); c.Skipped == nil {
		t.Errorf("ignored lm_head should be skipped: %+v", c)
	}

	// A pass, and a single pair.
	s = runJUnit(t, exitOK, "tensors", "testdata/porting/ref_activations.safetensors", "testdata/porting/ref_activations.safetensors")
	if len(s.Cases) != 18 || s.Failures != 0 {
		t.Errorf("self-comparison: %d cases, %d failures", len(s.Cases), s.Failures)
	}
	s = runJUnit(t, exitDiff, "tensors", "testdata/pairs/f32_fail/ref.npy", "testdata/pairs/f32_fail/ours.npy")
	if len(s.Cases) != 1 || s.Cases[0].Name != "ref.npy" || s.Cases[0].Failure == nil || strings.HasPrefix(s.Cases[0].Failure.Message, "step") {
		t.Errorf("single pair: %+v", s.Cases)
	}
}

func TestJUnitGolden(t *testing.T) {
	inModuleRoot(t)
	dir := t.TempDir()
	goldenPath := filepath.Join(dir, "acts.golden.json")
	if _, e, code := runCLI(t, nil, "golden", "record", "testdata/porting/ref_activations.safetensors", "-o", goldenPath); code != 0 {
		t.Fatalf("golden record: %s", e)
	}
	s := runJUnit(t, exitOK, "golden", "check", "testdata/porting/ref_activations.safetensors", goldenPath)
	if len(s.Cases) != 18 || s.Failures != 0 {
		t.Errorf("unchanged input: %d cases, %d failures", len(s.Cases), s.Failures)
	}

	args := []string{"golden", "check", "testdata/porting/port_activations.safetensors", goldenPath}
	s = runJUnit(t, exitDiff, args...)
	var rep golden.Report
	jsonReport(t, &rep, args...)
	want := map[string]string{}
	for _, c := range rep.Tensors {
		if !c.Pass {
			want["refcmp.golden "+c.Name] = "changed"
		}
	}
	if got := s.failing(); !mapsEqual(got, want) || len(want) == 0 {
		t.Errorf("failing cases\n got %v\nwant %v", got, want)
	}
	c := s.find(t, "refcmp.golden", *rep.FirstChange)
	for _, w := range []string{"changed: min -1.058246 -> -2.993171", "recorded", "current"} {
		if !strings.Contains(c.Failure.Text, w) {
			t.Errorf("first change text lacks %q:\n%s", w, c.Failure.Text)
		}
	}

	// A renamed record: the old name is missing, the new one is new.
	data, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	renamed := filepath.Join(dir, "renamed.golden.json")
	if err := os.WriteFile(renamed, bytes.Replace(data, []byte(`"name":"lm_head"`), []byte(`"name":"lm_head_old"`), 1), 0o666); err != nil {
		t.Fatal(err)
	}
	s = runJUnit(t, exitDiff, "golden", "check", "testdata/porting/ref_activations.safetensors", renamed)
	want = map[string]string{
		"refcmp.golden lm_head_old": "missing",
		"refcmp.golden.new lm_head": "new",
	}
	if got := s.failing(); !mapsEqual(got, want) {
		t.Errorf("failing cases\n got %v\nwant %v", got, want)
	}
}

// TestJUnitXMLSafe: names with characters XML cannot hold still give a
// well-formed document.
func TestJUnitXMLSafe(t *testing.T) {
	s := ciSuite{Command: "tensors", Inputs: []string{"a&b<c>.npz", `"q"`}, Verdict: "x ]]> y",
		Cases: []ciCase{
			{Name: "bad\x00name\x1b[31m", Classname: "refcmp.tensors", Status: caseFail, Type: "allclose",
				Message: "line one\nline two", Text: "text with ]]> and \x07 bell and <tags> & \"quotes\"\n"},
			{Name: "ok", Classname: "refcmp.tensors", Status: caseSkip, Type: "ignored", Message: "ignored by --ignore"},
			{Name: "\xff\xfe invalid utf-8", Classname: "refcmp.tensors"},
		}}
	var b bytes.Buffer
	if err := writeJUnit(&b, s); err != nil {
		t.Fatal(err)
	}
	checkJUnitSchema(t, b.String())
	var doc xSuites
	if err := xml.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatalf("unmarshal: %v\n%s", err, b.String())
	}
	cs := doc.Suites[0].Cases
	if len(cs) != 3 || cs[0].Failure == nil || cs[1].Skipped == nil || cs[2].Failure != nil {
		t.Fatalf("cases %+v", cs)
	}
	f := cs[0].Failure
	if f.Message != "line one line two" || !strings.Contains(f.Text, "text with ]]> and \uFFFD bell and <tags> & \"quotes\"") {
		t.Errorf("failure read back as %+v", *f)
	}
	if cs[0].Name != "bad\uFFFDname\uFFFD[31m" {
		t.Errorf("name read back as %q", cs[0].Name)
	}
	if doc.Suites[0].Name != `refcmp tensors a&b<c>.npz "q"` {
		t.Errorf("suite name read back as %q", doc.Suites[0].Name)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestDocsCIJob checks the GitHub Actions job in docs/ci.md: the steps a
// job needs are there, and every refcmp command in it parses (command,
// flags, flag values, number of arguments), so the example cannot go
// stale as flags change.
func TestDocsCIJob(t *testing.T) {
	md := readDoc(t, "docs/ci.md")
	i := strings.Index(md, "\n## GitHub Actions\n")
	if i < 0 {
		t.Fatal(`docs/ci.md has no "## GitHub Actions" section`)
	}
	var job []string
	for _, b := range fencedBlocks(md[i:]) {
		if b.info == "yaml" {
			job = b.lines
			break
		}
	}
	text := strings.Join(job, "\n")
	for _, w := range []string{
		"uses: actions/checkout@", "uses: actions/setup-go@", "go install ./cmd/refcmp",
		"scripts/dump_activations.py", "scripts/dump_weights.py",
		"--format junit", "--format markdown", `>> "$GITHUB_STEP_SUMMARY"`, "--issues-log",
		"uses: actions/upload-artifact@", "if: ${{ !cancelled() }}",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("the GitHub Actions job lacks %q", w)
		}
	}
	// Join continued lines, then check each refcmp command.
	var cmds []string
	cur := ""
	for _, l := range job {
		l = strings.TrimSpace(l)
		if cur != "" {
			cur += " " + strings.TrimSuffix(l, "\\")
		} else if strings.HasPrefix(l, "refcmp ") {
			cur = strings.TrimSuffix(l, "\\")
		}
		if cur != "" && !strings.HasSuffix(l, "\\") {
			cmds = append(cmds, cur)
			cur = ""
		}
	}
	if len(cmds) < 4 {
		t.Fatalf("found %d refcmp commands in the job, want 4 or more", len(cmds))
	}
	for _, c := range cmds {
		if j := strings.IndexAny(c, ">|"); j >= 0 {
			c = c[:j]
		}
		args := shellWords(t, c)[1:]
		if err := parseArgs(args); err != nil {
			t.Errorf("docs/ci.md job: refcmp %s: %v", strings.Join(args, " "), err)
		}
	}
}

// parseArgs reports whether refcmp would accept args (command, flags,
// flag values, number of arguments), without running the command.
func parseArgs(args []string) error {
	a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }}
	cmd, rest, err := newRootCmd(a).Find(args)
	if err == nil {
		err = cmd.ParseFlags(rest)
	}
	if err == nil {
		err = cmd.ValidateArgs(cmd.Flags().Args())
	}
	return err
}

// TestJUnitWeightsEveryRowKind builds the weights suite of a diff with a
// row of every kind (missing, ignored, tied, shape and dtype mismatch,
// collision, a repeated expected name, unexpected) and checks the XML,
// which was recorded when the suite still looked rows up by name.
func TestJUnitWeightsEveryRowKind(t *testing.T) {
	info := func(name string, dt tensor.DType, shape ...int64) tensor.Info {
		return tensor.Info{Name: name, DType: dt, Shape: shape}
	}
	expected := tensor.Listing{Source: "exp.json", Weights: []tensor.Info{
		info("a", tensor.F32, 2), info("b", tensor.F32, 2, 3), info("b", tensor.F32, 9), info("c", tensor.F32, 4),
		info("gone", tensor.F16, 5), info("skip.me", tensor.F32, 1), info("lm_head", tensor.F32, 8, 2),
		info("emb", tensor.F32, 8, 2), info("d", tensor.F32, 3),
	}}
	loaded := tensor.Listing{Source: "load.json", Weights: []tensor.Info{
		info("d", tensor.F32, 3), info("x.a", tensor.F32, 2), info("c", tensor.BF16, 4), info("b", tensor.F16, 3, 2),
		info("y.a", tensor.F32, 2), info("emb", tensor.F32, 8, 2), info("extra", tensor.F32, 7), info("z.a", tensor.F32, 2),
	}}
	opts, err := weights.ParseOptions([]string{`^[xyz]\.a$=a`}, []string{"skip.*"}, []string{"lm_head=emb"}, false)
	if err != nil {
		t.Fatal(err)
	}
	rep := weights.Diff(expected, loaded, opts)
	var b strings.Builder
	s := weightsSuite(&weightsOptions{expected: "exp.json", loaded: "load.json"}, expected, weightsView{Report: rep, Opts: opts})
	if err := writeJUnit(&b, s); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != everyRowKindXML {
		t.Errorf("junit:\n%s\nwant:\n%s", got, everyRowKindXML)
	}
}

const everyRowKindXML = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="refcmp" tests="9" failures="5" errors="0" time="0">
  <testsuite name="refcmp weights exp.json load.json" tests="9" failures="5" errors="0" skipped="1" time="0">
    <properties>
      <property name="command" value="refcmp weights"></property>
      <property name="input.1" value="exp.json"></property>
      <property name="input.2" value="load.json"></property>
      <property name="verdict" value="FAIL: 1 missing, 1 unexpected, 1 shape mismatch, 2 dtype mismatches, 1 name collision (expected 9 tensors / 62 params; loaded 8)"></property>
    </properties>
    <testcase name="a" classname="refcmp.weights" time="0">
      <failure message="name collision: loaded weights x.a, y.a, z.a all map to this name; the first was compared" type="collision"><![CDATA[expected a [2] F32 (in exp.json)
name collision: loaded weights x.a, y.a, z.a all map to this name; the first was compared
]]></failure>
    </testcase>
    <testcase name="b" classname="refcmp.weights" time="0">
      <failure message="shape: expected [2 3], loaded [3 2]; dtype: expected F32, loaded F16" type="shape_mismatch"><![CDATA[expected b [2 3] F32 (in exp.json)
shape: expected [2 3], loaded [3 2]
dtype: expected F32, loaded F16
hint: transposed: loaded [3 2] is expected [2 3] with its dims swapped (PyTorch Linear stores [out, in]); downcast: the port keeps a narrower float type
]]></failure>
    </testcase>
    <testcase name="c" classname="refcmp.weights" time="0">
      <failure message="dtype: expected F32, loaded BF16" type="dtype_mismatch"><![CDATA[expected c [4] F32 (in exp.json)
dtype: expected F32, loaded BF16
hint: downcast: the port keeps a narrower float type
]]></failure>
    </testcase>
    <testcase name="gone" classname="refcmp.weights" time="0">
      <failure message="missing: expected [5] F16, not loaded" type="missing"><![CDATA[expected gone [5] F16 (in exp.json) is not in load.json
]]></failure>
    </testcase>
    <testcase name="skip.me" classname="refcmp.weights" time="0">
      <skipped message="ignored by --ignore"></skipped>
    </testcase>
    <testcase name="lm_head" classname="refcmp.weights" time="0"></testcase>
    <testcase name="emb" classname="refcmp.weights" time="0"></testcase>
    <testcase name="d" classname="refcmp.weights" time="0"></testcase>
    <testcase name="extra" classname="refcmp.weights.unexpected" time="0">
      <failure message="unexpected: loaded [7] F32, not expected" type="unexpected"><![CDATA[loaded extra [7] F32 (in load.json) is not in exp.json
]]></failure>
    </testcase>
    <system-out><![CDATA[FAIL: 1 missing, 1 unexpected, 1 shape mismatch, 2 dtype mismatches, 1 name collision (expected 9 tensors / 62 params; loaded 8)
first failure: a: name collision: loaded weights x.a, y.a, z.a all map to this name; the first was compared
1 tied (accepted by --tied); ignored by --ignore: 1 expected
note: exp.json: 1 duplicate names; the first of each was compared
]]></system-out>
  </testsuite>
</testsuites>
`
