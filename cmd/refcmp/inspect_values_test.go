package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensorfile"
)

// numpyCases writes .npy files and numpy's np.array2string(a,
// separator=", ", edgeitems=E) of each.
const numpyCases = `
import json, sys, os
import numpy as np
out = sys.argv[1]
rng = np.random.default_rng(3)
cases = {
  "f32_randn": rng.standard_normal((4, 5)).astype(np.float32),
  "f32_exp_randn": (rng.standard_normal((64, 32)) * np.array([1e-3] + [1] * 31)).astype(np.float32),
  "f32_exp_short": np.array([1.5e-5, 0.25, 3.0], dtype=np.float32),
  "f32_halves": np.array([1.5, 2.25, -3.0, 10.125], dtype=np.float32),
  "f32_whole": np.array([[1, 2], [3, -4]], dtype=np.float32),
  "f32_exp": np.array([1e-5, 1.0, 123456.0, -2.5e-7], dtype=np.float32),
  "f32_big": np.array([1e9, 2.0, 3.0], dtype=np.float32),
  "f32_nonfinite": np.array([np.nan, 1.25, np.inf, -np.inf, 0.0], dtype=np.float32),
  "f32_allnan": np.array([np.nan, np.nan], dtype=np.float32),
  "f32_negzero": np.array([-0.0, 0.0, 1.0], dtype=np.float32),
  "f32_nearone": np.array([0.9999988, 1.0000001, 0.5], dtype=np.float32),
  "f64_arange": np.arange(2000, dtype=np.float64) / 7,
  "f64_3d": rng.standard_normal((20, 30, 40)),
  "f64_3d_small": rng.standard_normal((2, 3, 4)),
  "f64_wide": rng.standard_normal(30),
  "f16": rng.standard_normal(7).astype(np.float16),
  "i32": np.array([[1, -20, 300], [4, 5, 6]], dtype=np.int32),
  "i64_big": np.arange(3000, dtype=np.int64).reshape(30, 100),
  "bool": np.array([True, False, True]),
  "bool_true": np.array([True, True]),
  "scalar": np.array(3.5, dtype=np.float32),
  "empty": np.zeros((0, 3), dtype=np.float32),
}
res = {}
for name, a in cases.items():
    np.save(os.path.join(out, name + ".npy"), a)
    res[name + ":3"] = np.array2string(a, separator=", ")
    res[name + ":1"] = np.array2string(a, separator=", ", edgeitems=1)
json.dump(res, sys.stdout)
`

// TestNumpyText checks --values against numpy's own text for the same
// arrays: digits, padding, exponent form, nan/inf, wrapping at 75
// columns, "..." and edge items.
func TestNumpyText(t *testing.T) {
	py := testenv.Python(t, "numpy")
	dir := t.TempDir()
	cmd := exec.Command(py, "-c", numpyCases, dir)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want map[string]string
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	for key, w := range want {
		name, edge := key[:len(key)-2], key[len(key)-1:]
		e, _ := strconv.Atoi(edge)
		c, err := tensorfile.Open(filepath.Join(dir, name+".npy"), tensorfile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		v, err := diffing.ReadValues(c.Tensors[0], nil, e, numpyThreshold)
		c.Close()
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		if got := numpyText(v); got != w {
			t.Errorf("%s:\nnumpy:\n%s\nrefcmp:\n%s", key, w, got)
		}
	}
	_ = os.Remove(dir)
}
