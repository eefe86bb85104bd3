package diffing

import (
	"fmt"
	"runtime/debug"
)

// PanicError is a panic recovered in one of the goroutines the
// comparison starts (a reader's ReadAt, a kernel): a bug in refcmp or in
// a reader, never a property of the input. The CLI exits 3 on it.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("internal error (please report it, with the files if you can): panic: %v\n%s", e.Value, e.Stack)
}

// safeWork calls work(w, i), turning a panic into a *PanicError: a panic
// in a goroutine other than main's cannot be recovered by the caller and
// would end the process with the Go runtime's exit status 2.
func safeWork[P any](work func(w, i int) (P, error), w, i int) (p P, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return work(w, i)
}
