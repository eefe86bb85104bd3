package tensor

import (
	"errors"
	"io"
)

// MemData is tensor data held in memory. It implements io.ReaderAt and
// ByteSource.
type MemData []byte

// ReadAt implements io.ReaderAt.
func (m MemData) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("tensor.MemData.ReadAt: negative offset")
	}
	if off >= int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Bytes implements ByteSource.
func (m MemData) Bytes() []byte { return m }

// Size is the length of the data.
func (m MemData) Size() int64 { return int64(len(m)) }
