// Package fileio opens the files refcmp reads so that no input can block
// or exhaust memory: only regular files are opened (a FIFO, a device or
// a socket is refused before open can block or a read can run forever),
// and a file read whole is read only up to a stated limit.
package fileio

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Open opens path for reading if it is a regular file. It opens without
// blocking (O_NONBLOCK where the system has it), then checks the file
// it got, so a FIFO swapped in after a stat is refused too.
func Open(path string) (*os.File, error) {
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if err := Regular(path, fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|oNonblock, 0)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = Regular(path, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Regular returns an error naming path and what it is unless fi is a
// regular file.
func Regular(path string, fi fs.FileInfo) error {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	what := "not a regular file"
	switch {
	case m.IsDir():
		what = "a directory"
	case m&fs.ModeNamedPipe != 0:
		what = "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		what = "a character device"
	case m&fs.ModeDevice != 0:
		what = "a device"
	case m&fs.ModeSocket != 0:
		what = "a socket"
	}
	return fmt.Errorf("%s: %s, not a regular file: refcmp reads files, not streams or devices", path, what)
}

// ReadFile reads the regular file path whole, refusing one over limit
// bytes; what names the file's role in that error ("a sharded index").
func ReadFile(path string, limit int64, what string) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > limit {
		return nil, fmt.Errorf("%s: over the %s limit for %s", path, Size(limit), what)
	}
	return ReadAll(path, f, limit, what) // the file may grow as it is read
}

// ReadAll reads r to its end, up to limit bytes; path and what name it in
// the error when there are more.
func ReadAll(path string, r io.Reader, limit int64, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: over the %s limit for %s", path, Size(limit), what)
	}
	return b, nil
}

// Size writes a byte count for a message: "64 MiB", "1 GiB", "100 bytes".
func Size(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}
