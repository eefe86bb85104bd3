package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/golden"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile"
)

// portingFindings is testdata/porting/expected_findings.json: what each
// refcmp command of the worked example should report, computed by
// scripts/make_example.py from the data.
type portingFindings struct {
	Weights []struct {
		Args []string `json:"args"`
		Exit int      `json:"exit"`
	} `json:"weights"`
	Tensors []struct {
		Args              []string `json:"args"`
		Exit              int      `json:"exit"`
		Pass              bool     `json:"pass"`
		Tensors           int      `json:"tensors"`
		Failing           int      `json:"failing"`
		FirstFailure      string   `json:"first_failure"`
		FirstFailureIndex *int     `json:"first_failure_index"`
		PassingBefore     int      `json:"passing_before"`
		BitIdentical      bool     `json:"bit_identical_before"`
		FailingNames      []string `json:"failing_names"`
		Hint              *struct {
			Kind     string `json:"kind"`
			Constant string `json:"constant"`
		} `json:"hint"`
	} `json:"tensors"`
}

// tensorsJSON is the part of `refcmp tensors --format json` this test reads
// (the JSON contract of README.md).
type tensorsJSON struct {
	Pass         bool               `json:"pass"`
	FirstFailure *string            `json:"first_failure"`
	Tensors      []tensorsJSONEntry `json:"tensors"`
	RefOnly      []string           `json:"ref_only"`
	OursOnly     []string           `json:"ours_only"`
}

type tensorsJSONEntry struct {
	Name       string       `json:"name"`
	Pass       bool         `json:"pass"`
	MaxAbsDiff tensor.Float `json:"max_abs_diff"`
	Hints      []struct {
		Kind    string `json:"kind"`
		Summary string `json:"summary"`
	} `json:"hints"`
}

// TestPortingExample runs the worked example (testdata/porting, README's
// walk-through) the way CI does: with Debian's python3-torch and
// python3-numpy it checks that scripts/make_example.py reproduces the
// committed files, runs scripts/dump_weights.py and
// scripts/dump_activations.py on the tiny model (the reference and both
// buggy ports), and checks the fresh dumps with refcmp, in process,
// against testdata/porting/expected_findings.json: the reference
// compared with itself passes, the port without attention scaling fails
// at exactly layers.0.self_attn.scores with a hint naming sqrt(8), the
// port with o_proj transposed fails at layers.0.self_attn.o_proj and its
// weight gets the transposed hint. It ends with the scripts' own
// self-test, scripts/test_scripts.py (not with -short: it takes minutes).
func TestPortingExample(t *testing.T) {
	py := testenv.Python(t, "numpy", "torch")
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ex := filepath.Join(root, "testdata", "porting")
	tmp := t.TempDir()
	var f portingFindings
	data, err := os.ReadFile(filepath.Join(ex, "expected_findings.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("expected_findings.json: %v", err)
	}
	if len(f.Weights) == 0 || len(f.Tensors) == 0 {
		t.Fatal("expected_findings.json lists no weights or tensors cases")
	}

	python := func(args ...string) {
		t.Helper()
		start := time.Now()
		cmd := exec.Command(py, args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", py, strings.Join(args, " "), err, out)
		}
		t.Logf("%s (%.1fs)", strings.Join(args, " "), time.Since(start).Seconds())
	}
	refcmp := func(args ...string) (stdout string, code int) {
		t.Helper()
		var out, errb bytes.Buffer
		code = run(args, &out, &errb)
		if code == exitError {
			t.Fatalf("refcmp %s: exit 2: %s", strings.Join(args, " "), errb.String())
		}
		return out.String(), code
	}

	// The committed example is what the generator makes.
	python("scripts/make_example.py", "--check")

	// The reference side: the weights manifest from the checkpoint, and
	// every module's output for the reference and the two ports.
	manifest := filepath.Join(tmp, "expected_weights.txt")
	python("scripts/dump_weights.py", "testdata/porting/model.safetensors", manifest)
	if got, want := readFile(t, manifest), readFile(t, filepath.Join(ex, "expected_weights.txt")); got != want {
		t.Errorf("dump_weights.py model.safetensors differs from expected_weights.txt:\n%s\nwant:\n%s", got, want)
	}
	fromModel := filepath.Join(tmp, "model_weights.txt")
	python("scripts/dump_weights.py", "scripts/make_example.py:build_reference", fromModel)
	fresh := map[string]string{
		"ref_activations.safetensors":             filepath.Join(tmp, "ref.safetensors"),
		"port_activations.safetensors":            filepath.Join(tmp, "port.safetensors"),
		"port_transposed_activations.safetensors": filepath.Join(tmp, "port_transposed.safetensors"),
	}
	input := filepath.Join("testdata", "porting", "input_ids.npy")
	python("scripts/dump_activations.py", "scripts/make_example.py:build_reference",
		"--weights", "testdata/porting/model.safetensors", "--input", input, "-o", fresh["ref_activations.safetensors"])
	python("scripts/dump_activations.py", "scripts/make_example.py:build_port",
		"--input", input, "-o", fresh["port_activations.safetensors"])
	python("scripts/dump_activations.py", "scripts/make_example.py:build_port_transposed",
		"--input", input, "-o", fresh["port_transposed_activations.safetensors"])

	// A fresh file where there is one, else the committed one.
	path := func(name string) string {
		if p, ok := fresh[name]; ok {
			return p
		}
		switch name {
		case "expected_weights.txt":
			return manifest
		}
		return filepath.Join(ex, name)
	}

	// The fresh dumps are the committed ones (within tolerance: another
	// CPU may round the last bits differently).
	for name, p := range fresh {
		if out, code := refcmp("tensors", filepath.Join(ex, name), p); code != exitOK {
			t.Errorf("fresh %s differs from the committed one:\n%s", name, out)
		}
	}
	// The manifest written from the model itself lists the checkpoint's
	// weights.
	if out, code := refcmp("weights", filepath.Join(ex, "model.safetensors"), fromModel); code != exitOK {
		t.Errorf("dump_weights.py make_example.py:build_reference does not list model.safetensors' weights:\n%s", out)
	}

	// Step 1 of the walk-through: the weights.
	for _, c := range f.Weights {
		args := []string{"weights"}
		for i, a := range c.Args {
			if i < 2 {
				a = path(a)
			}
			args = append(args, a)
		}
		if out, code := refcmp(args...); code != c.Exit {
			t.Errorf("refcmp weights %s: exit %d, expected_findings.json says %d\n%s", strings.Join(c.Args, " "), code, c.Exit, out)
		}
	}

	// Steps 2 and 3: the first diverging tensor, and the hint.
	for _, c := range f.Tensors {
		name := "tensors " + strings.Join(c.Args, " ")
		args := []string{"tensors", "--format", "json"}
		for i, a := range c.Args {
			if i < 2 {
				a = path(a)
			}
			args = append(args, a)
		}
		out, code := refcmp(args...)
		if code != c.Exit {
			t.Errorf("%s: exit %d, want %d", name, code, c.Exit)
		}
		var rep tensorsJSON
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("%s: not JSON: %v\n%s", name, err, out)
		}
		if rep.Pass != c.Pass || len(rep.Tensors) != c.Tensors || len(rep.RefOnly)+len(rep.OursOnly) != 0 {
			t.Errorf("%s: pass %v with %d tensors compared (%d on one side only), want pass %v with %d",
				name, rep.Pass, len(rep.Tensors), len(rep.RefOnly)+len(rep.OursOnly), c.Pass, c.Tensors)
		}
		var failing []string
		for _, r := range rep.Tensors {
			if !r.Pass {
				failing = append(failing, r.Name)
			}
		}
		if len(failing) != c.Failing || (c.FailingNames != nil && !slices.Equal(failing, c.FailingNames)) {
			t.Errorf("%s: failing %q, want %q", name, failing, c.FailingNames)
		}
		if c.FirstFailure != "" {
			if rep.FirstFailure == nil || *rep.FirstFailure != c.FirstFailure {
				t.Errorf("%s: first_failure %v, want %q", name, rep.FirstFailure, c.FirstFailure)
			}
			i := slices.IndexFunc(rep.Tensors, func(r tensorsJSONEntry) bool { return r.Name == c.FirstFailure })
			if c.FirstFailureIndex != nil && i != *c.FirstFailureIndex {
				t.Errorf("%s: %s is step %d of the execution order, want %d", name, c.FirstFailure, i, *c.FirstFailureIndex)
			}
			for _, r := range rep.Tensors[:max(0, i)] {
				if !r.Pass || (c.BitIdentical && r.MaxAbsDiff != 0) {
					t.Errorf("%s: %s, before the first failure, has max|diff| %v (pass %v); want bit-identical", name, r.Name, r.MaxAbsDiff, r.Pass)
				}
			}
		}
		if h := c.Hint; h != nil {
			// The hint is on the first failing tensor (the only one, for
			// the weights): it names the bug.
			target := c.FirstFailure
			if target == "" && len(c.FailingNames) > 0 {
				target = c.FailingNames[0]
			}
			found := false
			var kinds []string
			for _, r := range rep.Tensors {
				if r.Name != target {
					continue
				}
				for _, x := range r.Hints {
					kinds = append(kinds, x.Kind+": "+x.Summary)
					if x.Kind == h.Kind && (h.Constant == "" || strings.Contains(x.Summary, h.Constant)) {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("%s: no %q hint naming %q on %s; hints: %q", name, h.Kind, h.Constant, target, kinds)
			}
		}
	}

	// The same bug in the words of the text report.
	out, _ := refcmp("tensors", path("ref_activations.safetensors"), path("port_activations.safetensors"))
	if !strings.Contains(out, "layers.0.self_attn.scores") || !strings.Contains(out, "sqrt(8)") {
		t.Errorf("refcmp tensors ref port: the text names neither the tensor nor sqrt(8):\n%s", out)
	}

	// A goldenPath record of the committed reference checks the fresh one, and
	// catches the port at the same step.
	goldenPath := filepath.Join(tmp, "ref.golden.json")
	refcmp("golden", "record", filepath.Join(ex, "ref_activations.safetensors"), "-o", goldenPath)
	if out, code := refcmp("golden", "check", path("ref_activations.safetensors"), goldenPath); code != exitOK {
		t.Errorf("golden check of the fresh reference dump:\n%s", out)
	}
	out, code := refcmp("golden", "check", "--format", "json", path("port_activations.safetensors"), goldenPath)
	var grep golden.Report
	if err := json.Unmarshal([]byte(out), &grep); err != nil || code != exitDiff || grep.FirstChange == nil || *grep.FirstChange != "layers.0.self_attn.scores" {
		t.Errorf("golden check of the port: exit %d, first change %v (want layers.0.self_attn.scores) %v", code, grep.FirstChange, err)
	}
	if out, code := refcmp("inspect", "--check-finite", path("port_activations.safetensors")); code != exitOK {
		t.Errorf("inspect --check-finite on the port's dump:\n%s", out)
	}

	// The scripts' own self-test, so that CI runs it.
	if testing.Short() {
		t.Log("skipping scripts/test_scripts.py with -short")
		return
	}
	python("scripts/test_scripts.py")
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGoAPISummaryMatchesCLI checks that the Go API words a failing pair
// as `refcmp tensors` does: every line of diffing.Result.Facts (but the
// two statistics lines, which the CLI draws as a table) and every hint
// appear in the CLI's detail block for the same pair, on the worked
// example's committed dumps.
func TestGoAPISummaryMatchesCLI(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ex := filepath.Join(root, "testdata", "porting")
	for _, c := range []struct{ ref, ours, name string }{
		{"ref_activations.safetensors", "port_activations.safetensors", "layers.0.self_attn.scores"},
		{"ref_activations.safetensors", "port_transposed_activations.safetensors", "layers.0.self_attn.o_proj"},
		{"model.safetensors", "port_transposed_weights.safetensors", "layers.0.self_attn.o_proj.weight"},
	} {
		var out, errb bytes.Buffer
		if code := run([]string{"tensors", filepath.Join(ex, c.ref), filepath.Join(ex, c.ours)}, &out, &errb); code != exitDiff {
			t.Fatalf("tensors %s %s: exit %d: %s", c.ref, c.ours, code, errb.String())
		}
		cli := out.String()
		ref, err := tensorfile.Load(filepath.Join(ex, c.ref), c.name)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := tensorfile.Load(filepath.Join(ex, c.ours), c.name)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := diffing.Float64s(ours)
		if err != nil {
			t.Fatal(err)
		}
		f32 := make([]float32, len(vals))
		for i, v := range vals {
			f32[i] = float32(v)
		}
		res, err := diffing.CompareSlice(ref, f32, nil, diffing.Tolerance{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Pass {
			t.Fatalf("%s: passes through the Go API", c.name)
		}
		if !strings.Contains(cli, c.name) {
			t.Errorf("%s: the CLI output does not name it", c.name)
		}
		for _, f := range res.Facts() {
			if strings.HasPrefix(f, "ref:") || strings.HasPrefix(f, "ours:") {
				continue
			}
			if !strings.Contains(cli, "\n  "+f+"\n") {
				t.Errorf("%s: Result.Facts line %q is not in refcmp tensors' output:\n%s", c.name, f, cli)
			}
		}
		if len(res.Hints) == 0 {
			t.Errorf("%s: no hints through the Go API", c.name)
		}
		for _, h := range res.Hints {
			if !strings.Contains(cli, h.Kind+": "+h.Summary) {
				t.Errorf("%s: hint %q is not in refcmp tensors' output", c.name, h.Kind+": "+h.Summary)
			}
		}
	}
}
