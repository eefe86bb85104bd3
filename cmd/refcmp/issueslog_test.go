package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
)

const (
	portingRef  = "testdata/porting/ref_activations.safetensors"
	portingPort = "testdata/porting/port_activations.safetensors"
)

// entryHeadings is the shape every entry has.
var entryHeadings = regexp.MustCompile(`(?s)^### \[OPEN\] \d{4}-\d{2}-\d{2} — refcmp [a-z ]+: [^\n]+\n\n` +
	`#### Symptom\n\n.+\n#### Root Cause\n\n_To fill in: [^\n]+_\n\n#### Fix\n\n_To fill in: [^\n]+_\n\n` +
	`#### Files\n\n_To fill in: [^\n]+_\n\n#### Prevention\n\n_To fill in: [^\n]+_\n\n` +
	`<!-- refcmp:fingerprint=sha256:[0-9a-f]{64} -->\n$`)

// entries splits a log into its entries.
func entries(log string) []string {
	var out []string
	for _, part := range strings.Split(log, "\n### ")[1:] {
		out = append(out, "### "+part)
	}
	return out
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIssuesLog(t *testing.T) {
	inModuleRoot(t)
	log := filepath.Join(t.TempDir(), "ISSUES.md")
	old := "# Our port's issues\n\n### [FIXED] 2026-01-02 — rotary base\n\nSymptom: ... (no trailing newline)"
	if err := os.WriteFile(log, []byte(old), 0o666); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{envNow: "2026-03-01"}

	// A failure adds one entry after what was there.
	out, errOut, code := runCLI(t, env, "tensors", portingRef, portingPort, "--issues-log", log)
	if code != exitDiff || !strings.HasPrefix(out, "FAIL: ") {
		t.Fatalf("exit %d, stdout %.100q", code, out)
	}
	if !strings.HasPrefix(errOut, "refcmp: "+log+": added [OPEN] refcmp tensors: 13 of 18 tensors differ") {
		t.Errorf("stderr %q", errOut)
	}
	got := readLog(t, log)
	if !strings.HasPrefix(got, old+"\n\n### [OPEN] 2026-03-01 — refcmp tensors: ") {
		t.Fatalf("existing content not kept as is, or entry not appended after it:\n%s", got)
	}
	es := entries(got[len(old):])
	if len(es) != 1 {
		t.Fatalf("%d entries, want 1:\n%s", len(es), got)
	}
	e := es[0]
	if !entryHeadings.MatchString(e) {
		t.Errorf("entry is not well-formed:\n%s", e)
	}
	for _, w := range []string{
		"`refcmp tensors " + portingRef + " " + portingPort + " --issues-log " + log + "` exits 1",
		"first failure: layers.0.self_attn.scores (step 5 of 18; steps 0-4 pass): 256 of 256 elements beyond tolerance (100%), max|diff| 1.935",
		"Where it first failed: `layers.0.self_attn.scores` (allclose)",
		"worst: |diff| 1.935 at [0 1 5 5]: ref -1.058246, ours -2.993171",
		"- scaled: ours ≈ 2.828 × ref (sqrt(8), 8 a dimension of the shape)",
		"sequence (metadata order, 18 steps)",
		"All 13 failures (allclose 13):",
		"- `lm_head` — step 17: ",
	} {
		if !strings.Contains(e, w) {
			t.Errorf("entry lacks %q:\n%s", w, e)
		}
	}

	// The same failure again, another day, from another directory: nothing added.
	env[envNow] = "2026-03-05T10:00:00+02:00"
	dir := t.TempDir()
	for _, f := range []string{portingRef, portingPort} {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), []byte(readLog(t, f)), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	_, errOut, code = runCLI(t, env, "tensors", "--format", "json", filepath.Join(dir, filepath.Base(portingRef)), filepath.Join(dir, filepath.Base(portingPort)), "--issues-log", log)
	if code != exitDiff || !strings.Contains(errOut, "this failure is already logged") {
		t.Errorf("repeat: exit %d, stderr %q", code, errOut)
	}
	if readLog(t, log) != got {
		t.Errorf("a repeated failure changed the log")
	}

	// A pass adds nothing and says nothing.
	_, errOut, code = runCLI(t, env, "tensors", portingRef, portingRef, "--issues-log", log)
	if code != exitOK || errOut != "" || readLog(t, log) != got {
		t.Errorf("pass: exit %d, stderr %q, log changed: %v", code, errOut, readLog(t, log) != got)
	}

	// Another failure adds a second entry, dated in UTC.
	env[envNow] = "2026-03-06T01:00:00+05:00"
	_, _, code = runCLI(t, env, "weights", "testdata/example/expected.safetensors", "testdata/example/loaded.txt", "--issues-log", log)
	if code != exitDiff {
		t.Errorf("weights: exit %d", code)
	}
	got2 := readLog(t, log)
	if !strings.HasPrefix(got2, got) {
		t.Fatalf("the second entry rewrote the log")
	}
	es = entries(got2[len(old):])
	if len(es) != 2 || !entryHeadings.MatchString(es[1]) ||
		!strings.HasPrefix(es[1], "### [OPEN] 2026-03-05 — refcmp weights: 7 missing, 6 unexpected, 4 shape mismatches") {
		t.Errorf("second entry:\n%s", strings.Join(es[1:], "\n---\n"))
	}
	for _, w := range []string{"fix: --map '^((?:embed_tokens|norm)\\.)=model.${1}'", "Where it first failed: `model.embed_tokens.weight` (missing)"} {
		if !strings.Contains(es[1], w) {
			t.Errorf("weights entry lacks %q:\n%s", w, es[1])
		}
	}
}

func TestIssuesLogCreates(t *testing.T) {
	inModuleRoot(t)
	dir := t.TempDir()
	log := filepath.Join(dir, "ISSUES.md")
	goldenPath := filepath.Join(dir, "acts.golden.json")
	if _, e, code := runCLI(t, nil, "golden", "record", portingRef, "-o", goldenPath); code != 0 {
		t.Fatal(e)
	}
	env := map[string]string{envNow: "2026-03-01"}
	_, _, code := runCLI(t, env, "golden", "check", portingPort, goldenPath, "--format", "junit", "--issues-log", log)
	if code != exitDiff {
		t.Fatalf("exit %d", code)
	}
	got := readLog(t, log)
	if !strings.HasPrefix(got, issuesLogHeader+"\n### [OPEN] 2026-03-01 — refcmp golden check: 13 of 18 tensors changed; first change: layers.0.self_attn.scores") {
		t.Errorf("new log:\n%s", got)
	}
	if es := entries(got); len(es) != 1 || !entryHeadings.MatchString(es[0]) {
		t.Errorf("entries:\n%s", got)
	}
	// Fixed, then broken again the same way: the fingerprint is still
	// there, so no second entry.
	if err := os.WriteFile(log, []byte(strings.Replace(got, "[OPEN]", "[FIXED]", 1)), 0o666); err != nil {
		t.Fatal(err)
	}
	before := readLog(t, log)
	runCLI(t, env, "golden", "check", portingPort, goldenPath, "--issues-log", log)
	if readLog(t, log) != before {
		t.Errorf("a logged failure was logged again")
	}
}

func TestIssuesLogErrors(t *testing.T) {
	inModuleRoot(t)
	// A bad clock override is an error, exit 2.
	_, errOut, code := runCLI(t, map[string]string{envNow: "yesterday"}, "tensors", portingRef, portingPort, "--issues-log", filepath.Join(t.TempDir(), "x.md"))
	if code != exitError || !strings.Contains(errOut, `REFCMP_NOW="yesterday": want a date YYYY-MM-DD`) {
		t.Errorf("bad REFCMP_NOW: exit %d, stderr %q", code, errOut)
	}
	// A log that cannot be written is an I/O error naming the flag.
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "ISSUES.md")
	_, errOut, code = runCLI(t, nil, "tensors", portingRef, portingPort, "--issues-log", bad)
	if code != exitError || !strings.Contains(errOut, "refcmp: --issues-log "+bad+": ") {
		t.Errorf("unwritable log: exit %d, stderr %q", code, errOut)
	}
	// Input errors write no entry.
	log := filepath.Join(t.TempDir(), "ISSUES.md")
	_, _, code = runCLI(t, nil, "tensors", portingRef, "nothere.npy", "--issues-log", log)
	if _, err := os.Stat(log); code != exitError || err == nil {
		t.Errorf("input error: exit %d, log written: %v", code, err == nil)
	}
}

func TestIssueFingerprint(t *testing.T) {
	base := ciSuite{Command: "tensors", Inputs: []string{"ci/ref/acts.safetensors", "ci/port/acts.safetensors"}, Verdict: "v1",
		Cases: []ciCase{
			{Name: "a", Classname: "refcmp.tensors", Status: caseFail, Type: "allclose", Message: "max|diff| 1.935", Text: "numbers 1"},
			{Name: "b", Classname: "refcmp.tensors", Status: caseFail, Type: "nan_inf", Message: "m", Text: "t"},
			{Name: "c", Classname: "refcmp.tensors"},
		}}
	fp := issueFingerprint(base)
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q", fp)
	}
	same := base
	same.Inputs = []string{"/home/me/ref/acts.safetensors", "./acts.safetensors"}
	same.Verdict = "other numbers"
	same.Cases = []ciCase{base.Cases[2], base.Cases[1], base.Cases[0]}
	same.Cases[2].Message, same.Cases[2].Text = "max|diff| 1.936", "numbers 2"
	if issueFingerprint(same) != fp {
		t.Errorf("directories, numbers or case order changed the fingerprint")
	}
	for name, change := range map[string]func(s *ciSuite){
		"command":     func(s *ciSuite) { s.Command = "golden check" },
		"input name":  func(s *ciSuite) { s.Inputs = []string{"ref.safetensors", "port/acts.safetensors"} },
		"failing set": func(s *ciSuite) { s.Cases = s.Cases[:1] },
		"kind": func(s *ciSuite) {
			s.Cases = []ciCase{base.Cases[0], {Name: "b", Classname: "refcmp.tensors", Status: caseFail, Type: "allclose"}}
		},
	} {
		s := base
		s.Cases = append([]ciCase(nil), base.Cases...)
		change(&s)
		if issueFingerprint(s) == fp {
			t.Errorf("changing the %s kept the fingerprint", name)
		}
	}
	e := issueEntry(base, "refcmp tensors a b", time.Date(2026, 3, 1, 23, 30, 0, 0, time.FixedZone("x", -5*3600)))
	if !strings.HasPrefix(e, "### [OPEN] 2026-03-02 — refcmp tensors: v1\n") || !entryHeadings.MatchString(e) {
		t.Errorf("entry:\n%s", e)
	}
}

// TestDocsIssuesLogSample: the entry docs/ci.md shows is the one
// testdata/script/issueslog_weights.txtar checks byte for byte.
func TestDocsIssuesLogSample(t *testing.T) {
	root := inModuleRoot(t)
	md := readDoc(t, "docs/ci.md")
	i := strings.Index(md, "\n~~~~markdown\n### [OPEN]")
	if i < 0 {
		t.Fatal("docs/ci.md shows no issues-log entry (a ~~~~markdown block)")
	}
	shown := md[i+len("\n~~~~markdown\n"):]
	shown = shown[:strings.Index(shown, "\n~~~~\n")+1]
	ar, err := txtar.ParseFile(filepath.Join(root, "testdata", "script", "issueslog_weights.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range ar.Files {
		if f.Name == "want.md" {
			want := string(f.Data)
			want = want[strings.Index(want, "### [OPEN]"):]
			if shown != want {
				t.Errorf("docs/ci.md's issues-log entry is not the one issueslog_weights.txtar checks:\n%s", lineDiff(want, shown))
			}
			return
		}
	}
	t.Fatal("issueslog_weights.txtar has no want.md")
}
