package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensorfile"
)

// Exit codes, as diff(1) and cmp(1) use them.
const (
	exitOK    = 0 // no differences
	exitDiff  = 1 // differences found (the report was written)
	exitError = 2 // usage, input or I/O error
	// exitInternal is a bug: a panic recovered in refcmp. (A fatal Go
	// runtime error, such as running out of memory, still exits 2: the
	// runtime chooses that status; refcmp's budgets keep inputs from
	// causing one.)
	exitInternal = 3
)

// exitCodesHelp is shown in the root command's help.
const exitCodesHelp = `Exit status:
  0  no differences
  1  differences found (the report says which)
  2  usage error, unreadable or malformed input, or I/O error
  3  internal error in refcmp (please report it)`

// errDifferences is returned by a command after it has rendered a report
// that holds differences. run maps it to exitDiff and prints nothing more.
var errDifferences = errors.New("differences found")

// usageError marks a mistake in how refcmp was called: a bad flag, a wrong
// number of arguments, an invalid flag value. run prints it with a pointer
// to --help.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError with a formatted message.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// internalError is a panic recovered while a command ran.
type internalError struct {
	panic any
	args  []string
	stack []byte
}

func (e *internalError) Error() string {
	return fmt.Sprintf("internal error (please report it, with the files if you can): %v\nwhile running: refcmp %s\n%s", e.panic, strings.Join(e.args, " "), e.stack)
}

// exitCode maps the error a command returned to the process exit status.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errDifferences):
		return exitDiff
	case errors.As(err, new(*tensorfile.InternalError)), errors.As(err, new(*internalError)), errors.As(err, new(*diffing.PanicError)):
		return exitInternal
	default:
		return exitError
	}
}
