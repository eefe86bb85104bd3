package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rogpeppe/go-internal/txtar"
)

// cmdExits is the script command
//
//	exits STATUS PROG [ARGS...]
//
// It runs PROG as exec does (its stdout and stderr are what the following
// stdout, stderr and cmp lines see) and fails unless PROG exits with
// exactly STATUS: `exits 1 refcmp ...` expects differences found,
// `exits 2 refcmp ...` a usage, input or I/O error. `! exec` cannot tell
// the two apart.
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exits (give the status expected)")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exits STATUS PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil || want < 0 || want > 255 {
		ts.Fatalf("exits: status %q is not a number from 0 to 255", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exits: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("exits: %s exited with status %d, want %d", args[1], got, want)
	}
}

// TestScriptExitStatus checks that no script runs refcmp with `! exec`,
// which passes on any non-zero status: a script that expects differences
// (1) would pass on an input error (2). `exits STATUS refcmp ...` says
// which it expects.
func TestScriptExitStatus(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "testdata", "script", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata/script (%v)", err)
	}
	for _, f := range files {
		ar, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(ar.Comment), "\n") {
			fields := strings.Fields(l)
			for len(fields) > 0 && strings.HasPrefix(fields[0], "[") { // [condition]
				fields = fields[1:]
			}
			if len(fields) >= 3 && fields[0] == "!" && fields[1] == "exec" && fields[2] == "refcmp" {
				t.Errorf("%s:%d: `! exec refcmp` accepts any failure; write `exits 1 refcmp` (differences) or `exits 2 refcmp` (bad input)", filepath.Base(f), i+1)
			}
		}
	}
}
