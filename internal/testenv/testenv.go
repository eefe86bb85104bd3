// Package testenv finds what tests need outside the module: the shared
// real-data corpus and the Python peers (numpy, torch) used as oracles.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RealData returns the directory ../shared/realdata beside the module root.
// When it is absent the test is skipped, unless REFCMP_REALDATA=required,
// in which case it fails.
func RealData(t testing.TB) string {
	t.Helper()
	if dir, ok := FindRealData(); ok {
		return dir
	}
	if os.Getenv("REFCMP_REALDATA") == "required" {
		t.Fatalf("../shared/realdata not found and REFCMP_REALDATA=required")
	}
	t.Skip("../shared/realdata not found (set REFCMP_REALDATA=required to fail instead)")
	return ""
}

// FindRealData is RealData without a testing.TB.
func FindRealData() (string, bool) {
	root, err := ModuleRoot()
	if err != nil {
		return "", false
	}
	dir := filepath.Join(filepath.Dir(root), "shared", "realdata")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", false
	}
	return dir, true
}

// Python returns a python3 interpreter that can import every module in
// mods (e.g. "numpy", "torch"). Debian's /usr/bin/python3 is tried first,
// since python3-numpy and python3-torch install there. When none is found
// the test is skipped, unless REFCMP_PEERS=required, in which case it fails.
func Python(t testing.TB, mods ...string) string {
	t.Helper()
	if p, ok := FindPython(mods...); ok {
		return p
	}
	if os.Getenv("REFCMP_PEERS") == "required" {
		t.Fatalf("no python3 that imports %v, and REFCMP_PEERS=required", mods)
	}
	t.Skipf("no python3 that imports %v (install python3-numpy python3-torch; set REFCMP_PEERS=required to fail instead)", mods)
	return ""
}

// FindPython is Python without a testing.TB.
func FindPython(mods ...string) (string, bool) {
	code := "import sys\n"
	for _, m := range mods {
		code += "import " + m + "\n"
	}
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(p, "-c", code).Run() == nil {
			return p, true
		}
	}
	return "", false
}

// ModuleRoot returns the directory holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

// WriteFile writes b to dir/name, making the directories it needs, and
// returns the path.
func WriteFile(t testing.TB, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
