package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestGoldenScript runs testdata/script/golden/{golden,inspect}_*.txtar
// with the variables and conditions of TestScript ($TESTDATA, $REALDATA,
// $PYTHON; [realdata], [python-numpy], [python-torch]) and the tensor
// making commands of TestTensorsScript: mksafetensors, mknpy, transform
// (transform IN OUT set I V plants a value) and pack.
//
// The scripts live in their own directory, not beside TestScript's: a
// guard like [!exec:PROG] cannot keep TestScript from running them,
// because testscript caches [exec:PROG] per process, for whichever test
// asked first.
func TestGoldenScript(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, pat := range []string{"golden_*.txtar", "inspect_*.txtar"} {
		m, err := filepath.Glob(filepath.Join(root, "testdata", "script", "golden", pat))
		if err != nil || len(m) == 0 {
			t.Fatalf("no testdata/script/golden/%s (%v)", pat, err)
		}
		files = append(files, m...)
	}
	realdata := filepath.Join(filepath.Dir(root), "shared", "realdata")
	if fi, err := os.Stat(realdata); err != nil || !fi.IsDir() {
		realdata = ""
	}
	testscript.Run(t, testscript.Params{
		Files:               files,
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TESTDATA", filepath.Join(root, "testdata"))
			env.Setenv("REALDATA", realdata)
			if p, ok := testenv.FindPython("numpy"); ok {
				env.Setenv("PYTHON", p)
			}
			env.Setenv("NO_COLOR", "")
			env.Setenv("TERM", "dumb")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "realdata":
				if realdata != "" {
					return true, nil
				}
				if os.Getenv("REFCMP_REALDATA") == "required" {
					return false, errors.New("../shared/realdata not found and REFCMP_REALDATA=required")
				}
				return false, nil
			case "python-numpy", "python-torch":
				mods := []string{"numpy"}
				if cond == "python-torch" {
					mods = append(mods, "torch")
				}
				if _, ok := testenv.FindPython(mods...); ok {
					return true, nil
				}
				if os.Getenv("REFCMP_PEERS") == "required" {
					return false, fmt.Errorf("no python3 that imports %s, and REFCMP_PEERS=required", strings.Join(mods, ", "))
				}
				return false, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"mksafetensors": cmdMksafetensors,
			"mknpy":         cmdMknpy,
			"transform":     cmdTransform,
			"pack":          cmdPack,
		},
	})
}
