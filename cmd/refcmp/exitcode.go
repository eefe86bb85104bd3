package main

import (
	"errors"
	"fmt"
)

// Exit codes, as diff(1) and cmp(1) use them.
const (
	exitOK    = 0 // no differences
	exitDiff  = 1 // differences found (the report was written)
	exitError = 2 // usage, input or I/O error
)

// exitCodesHelp is shown in the root command's help.
const exitCodesHelp = `Exit status:
  0  no differences
  1  differences found (the report says which)
  2  usage error, unreadable or malformed input, or I/O error`

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

// exitCode maps the error a command returned to the process exit status.
func exitCode(err error) int {
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, errDifferences):
		return exitDiff
	default:
		return exitError
	}
}
