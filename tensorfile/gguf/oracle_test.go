package gguf

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
)

// oracle runs scripts/ggml_oracle.py: llama.cpp's own libggml-base.so
// (npm @node-llama-cpp/linux-x64, pinned in .ci/run) through ctypes. The
// library is found through REFCMP_GGML_LIB or under REFCMP_GGML_PREFIX
// (default /opt/refcmp-llama). Without it the test is skipped, unless
// REFCMP_PEERS=required.
type oracle struct {
	python, script string
}

func newOracle(t testing.TB) oracle {
	t.Helper()
	py := testenv.Python(t, "numpy")
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	o := oracle{python: py, script: filepath.Join(root, "scripts", "ggml_oracle.py")}
	if out, err := exec.Command(py, o.script, "lib").Output(); err != nil {
		if os.Getenv("REFCMP_PEERS") == "required" {
			t.Fatalf("libggml-base.so not found (%s) and REFCMP_PEERS=required: install @node-llama-cpp/linux-x64 as .ci/run does", out)
		}
		t.Skipf("libggml-base.so not found (set REFCMP_GGML_LIB, or run the npm install in .ci/run; REFCMP_PEERS=required fails instead)")
	}
	return o
}

// run runs the oracle and returns its stdout; ggml refusing the input is
// returned as an error.
func (o oracle) run(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(o.python, append([]string{o.script}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 1 {
			return out, &oracleRefused{string(out)}
		}
		t.Fatalf("ggml_oracle %v: %v\n%s", args, err, cmd.Stderr)
	}
	return out, nil
}

type oracleRefused struct{ msg string }

func (e *oracleRefused) Error() string { return "ggml refused: " + e.msg }

type oracleFacts struct {
	Version    uint32 `json:"version"`
	Alignment  int64  `json:"alignment"`
	DataOffset int64  `json:"data_offset"`
	KV         []struct {
		KeyHex string `json:"key_hex"`
		Type   int    `json:"type"`
	} `json:"kv"`
	Tensors []struct {
		NameHex string  `json:"name_hex"`
		Type    uint32  `json:"type"`
		Offset  int64   `json:"offset"`
		Size    int64   `json:"size"`
		Ne      []int64 `json:"ne"`
	} `json:"tensors"`
}

func (o oracle) facts(t testing.TB, path string) (oracleFacts, error) {
	t.Helper()
	var f oracleFacts
	out, err := o.run(t, "facts", path)
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(out, &f); err != nil {
		t.Fatalf("oracle facts %s: %v", path, err)
	}
	return f, nil
}
