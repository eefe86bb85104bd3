package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// TestBaselineExample keeps the regression-baseline recipe of docs/ci.md
// honest: the committed baseline report and golden file under
// testdata/baseline are what refcmp writes today (TestDocs runs the
// checks against them), and the fixtures are what
// scripts/make_baseline_example.py makes.
func TestBaselineExample(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	tmp := t.TempDir()
	const dir = "testdata/baseline/"
	for _, c := range []struct {
		args      []string
		status    int
		committed string
	}{
		{[]string{"tensors", dir + "ref.safetensors", dir + "port_bf16.safetensors", "--write-baseline", filepath.Join(tmp, "baseline.json")}, exitDiff, "baseline.json"},
		{[]string{"golden", "record", "--ref", dir + "ref.safetensors", dir + "port_bf16.safetensors", "-o", filepath.Join(tmp, "port.golden.json")}, exitOK, "port.golden.json"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(c.args, &stdout, &stderr); code != c.status {
			t.Fatalf("refcmp %q: exit %d, want %d\n%s", c.args, code, c.status, stderr.String())
		}
		got, err := os.ReadFile(filepath.Join(tmp, c.committed))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(dir + c.committed)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s%s is not what refcmp %q writes now; rewrite it with that command", dir, c.committed, c.args)
		}
	}

	py := testenv.Python(t, "numpy")
	cmd := exec.Command(py, "scripts/make_baseline_example.py", "--out", tmp)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make_baseline_example.py: %v\n%s", err, out)
	}
	for _, f := range []string{"ref.safetensors", "port_bf16.safetensors", "port_worse.safetensors", "port_better.safetensors"} {
		got, _ := os.ReadFile(filepath.Join(tmp, f))
		want, _ := os.ReadFile(dir + f)
		if len(want) == 0 || !bytes.Equal(got, want) {
			t.Errorf("%s%s is not what scripts/make_baseline_example.py writes", dir, f)
		}
	}
}
