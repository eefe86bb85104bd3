package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite golden files and cmp'd script files from the current output")

// TestMain lets the test binary act as the real refcmp inside scripts:
// "exec refcmp ..." runs main, the same entry point users run.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"refcmp": main,
	})
}

// TestScript runs every testdata/script/<command>_<case>.txtar.
//
// Scripts see these variables:
//
//	$TESTDATA   the module's testdata directory (committed fixtures)
//	$REALDATA   ../shared/realdata, when it exists (guard with [realdata])
//	$PYTHON     a python3 with numpy (guard with [python-numpy]) or with
//	            numpy and torch (guard with [python-torch])
//
// and these commands besides the standard ones:
//
//	mksafetensors  write a safetensors file from a compact spec (see its doc)
//	indexnames     write the names of a sharded index as a text manifest
//	mknpy          write a .npy (or raw .bin) from values (see cmdMknpy)
//	transform      apply a transformation to a tensor (see cmdTransform;
//	               transform IN OUT set I V plants a value)
//	pack           put single tensors into an .npz or .safetensors (see cmdPack)
//	exits          exits STATUS refcmp ARGS...: exec that checks the exact
//	               exit status (see cmdExits); scripts use it, not ! exec,
//	               for every refcmp expected to fail (TestScriptExitStatus)
//
// There is one harness, so every script has every command: testscript
// caches [exec:PROG] per process, so a guard like [!exec:PROG] skip cannot
// tell two harnesses apart (it once skipped the tensors scripts in both).
//
// Conditions [realdata], [python-numpy] and [python-torch] are false when
// the thing is missing, so a script can skip; with REFCMP_REALDATA=required
// or REFCMP_PEERS=required a missing one is an error instead.
//
// Run with -update to rewrite the cmp'd files inside the scripts.
func TestScript(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	realdata, _ := testenv.FindRealData()
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join(root, "testdata", "script"),
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *update,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TESTDATA", filepath.Join(root, "testdata"))
			env.Setenv("REALDATA", realdata)
			if p, ok := testenv.FindPython("numpy"); ok {
				env.Setenv("PYTHON", p)
			}
			// Scripts check exact bytes: no color, whatever the caller's shell says.
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
			"indexnames":    cmdIndexnames,
			"mknpy":         cmdMknpy,
			"transform":     cmdTransform,
			"pack":          cmdPack,
			"exits":         cmdExits,
		},
	})
}
