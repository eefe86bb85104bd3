package tensorfile

import (
	"fmt"
	"io"
	"strings"

	"github.com/refcmp/refcmp/tensor"
)

// Load reads one tensor of a file into memory, for a port's own tests
// (see diffing.CompareSlice): the tensor called name in a container
// (safetensors, .npz, .pt, a directory), or the file's only tensor when
// name is "" (a .npy, a raw file with a sidecar, a .pt holding one
// tensor). The file is closed before Load returns; the tensor's Data is
// a tensor.MemData.
func Load(path, name string) (tensor.Tensor, error) {
	return LoadWith(path, name, Options{})
}

// LoadWith is Load with reader options (the dtype and shape of a raw file
// without a sidecar).
func LoadWith(path, name string, opts Options) (tensor.Tensor, error) {
	c, err := Open(path, opts)
	if err != nil {
		return tensor.Tensor{}, err
	}
	defer c.Close()
	var t *tensor.Tensor
	switch {
	case name == "" && len(c.Tensors) == 1:
		t = &c.Tensors[0]
	case name == "":
		return tensor.Tensor{}, fmt.Errorf("%s: holds %d tensors; name the one to load (%s)", path, len(c.Tensors), someNames(c.Tensors))
	default:
		for i := range c.Tensors {
			if c.Tensors[i].Name == name {
				t = &c.Tensors[i]
				break
			}
		}
		if t == nil && c.Single && len(c.Tensors) == 1 {
			t = &c.Tensors[0]
		}
		if t == nil {
			return tensor.Tensor{}, fmt.Errorf("%s: no tensor %q (it holds %s)", path, name, someNames(c.Tensors))
		}
	}
	out := tensor.Tensor{Name: t.Name, DType: t.DType, Shape: append([]int64{}, t.Shape...)}
	n := t.Numel() * int64(t.DType.Size())
	limit := opts.MaxMaterialize
	if limit <= 0 {
		limit = DefaultMaxMaterialize
	}
	if n > limit {
		return tensor.Tensor{}, fmt.Errorf("%s: tensor %q: %d bytes is over the limit of %d for loading into memory (Options.MaxMaterialize)", path, t.Name, n, limit)
	}
	buf := make([]byte, n)
	if n > 0 {
		if t.Data == nil {
			return tensor.Tensor{}, fmt.Errorf("%s: tensor %q: no data", path, t.Name)
		}
		k, err := t.Data.ReadAt(buf, 0)
		if int64(k) != n {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return tensor.Tensor{}, fmt.Errorf("%s: tensor %q: shape %v %s needs %d bytes: %w", path, t.Name, t.Shape, t.DType, n, err)
		}
	}
	out.Data = tensor.MemData(buf)
	return out, nil
}

// someNames lists up to 8 tensor names for an error message.
func someNames(ts []tensor.Tensor) string {
	if len(ts) == 0 {
		return "no tensors"
	}
	var names []string
	for i, t := range ts {
		if i == 8 {
			names = append(names, fmt.Sprintf("… %d more", len(ts)-8))
			break
		}
		names = append(names, fmt.Sprintf("%q", t.Name))
	}
	return strings.Join(names, ", ")
}
