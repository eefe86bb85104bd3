package gguf

import (
	"fmt"
	"io"
)

// DataRange returns the absolute byte range of t's data in the file, or
// an error naming the file and tensor when the file does not hold it all
// (a header-only file) or the type is unknown.
func (f *File) DataRange(t TensorInfo) (off, n int64, err error) {
	if t.Bytes < 0 {
		return 0, 0, &Error{File: f.Name, Offset: f.DataOffset + t.Offset, Tensor: t.Name, Msg: fmt.Sprintf("ggml type %d is unknown: no data size", uint32(t.Type))}
	}
	off = f.DataOffset + t.Offset
	if off > f.Size || t.Bytes > f.Size-off {
		return 0, 0, &Error{File: f.Name, Offset: off, Tensor: t.Name, Msg: fmt.Sprintf("data needs bytes %d..%d, the file ends at %d", off, off+t.Bytes, f.Size)}
	}
	return off, t.Bytes, nil
}

// Decode streams t's values as float32 in storage order (GGUF's, which is
// PyTorch's row-major order of Shape), calling fn with about chunk
// elements at a time (whole blocks) and the index of the first. The
// slice passed to fn is reused between calls. Only one chunk of raw and
// decoded data is in memory at a time.
func (f *File) Decode(r io.ReaderAt, t TensorInfo, chunk int, fn func(start int64, vals []float32) error) error {
	if !CanDecode(t.Type) {
		return fmt.Errorf("%s: tensor %q: type %s is not decoded by refcmp", f.Name, t.Name, t.Type)
	}
	off, n, err := f.DataRange(t)
	if err != nil {
		return err
	}
	bs, bb := int64(t.Type.BlockSize()), int64(t.Type.BlockBytes())
	per := max(int64(chunk)/bs, 1) // blocks per chunk
	raw := make([]byte, min(per, n/bb)*bb)
	vals := make([]float32, min(per, n/bb)*bs)
	for done := int64(0); done < n/bb; {
		k := min(per, n/bb-done)
		p := raw[:k*bb]
		if _, err := r.ReadAt(p, off+done*bb); err != nil {
			return fmt.Errorf("%s: tensor %q: reading data: %w", f.Name, t.Name, err)
		}
		v := vals[:k*bs]
		if err := Dequantize(t.Type, f.ByteOrder(), p, v); err != nil {
			return fmt.Errorf("%s: tensor %q: %w", f.Name, t.Name, err)
		}
		if err := fn(done*bs, v); err != nil {
			return err
		}
		done += k
	}
	return nil
}
