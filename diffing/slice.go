package diffing

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"
	"unsafe"

	"github.com/refcmp/refcmp/tensor"
)

// The Go API for ports written in Go: a port's own `go test` compares
// what it computed, a plain slice, with a tensor of the reference's dump
// (read with tensorfile.Load), under the same tolerance rule and with the
// same diagnosis text as `refcmp tensors`:
//
//	ref, err := tensorfile.Load("testdata/ref_activations.safetensors", "layers.0.self_attn.scores")
//	...
//	res, err := diffing.CompareSlice(ref, scores, nil, diffing.Tolerance{})
//	if err != nil {
//		t.Fatal(err)
//	}
//	if !res.Pass {
//		t.Error(res.Summary())
//	}

// Number is an element type a slice can hold: the Go types with a dtype
// of their own. Half-precision data held as bits go through HalfTensor.
type Number interface {
	~float32 | ~float64 | ~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64
}

// DTypeOf is the dtype of a Number type: F32 for float32, I64 for int64...
func DTypeOf[T Number]() tensor.DType {
	var z T
	switch any(z).(type) {
	case float32:
		return tensor.F32
	case float64:
		return tensor.F64
	case int8:
		return tensor.I8
	case int16:
		return tensor.I16
	case int32:
		return tensor.I32
	case int64:
		return tensor.I64
	case uint8:
		return tensor.U8
	case uint16:
		return tensor.U16
	case uint32:
		return tensor.U32
	case uint64:
		return tensor.U64
	}
	// A named type (~float32 and friends): go by kind and size.
	var isFloat bool
	var v T = 1
	v /= 2
	isFloat = v != 0
	signed := T(0)-1 < 0
	switch size := unsafe.Sizeof(z); {
	case isFloat && size == 4:
		return tensor.F32
	case isFloat:
		return tensor.F64
	case signed && size == 1:
		return tensor.I8
	case signed && size == 2:
		return tensor.I16
	case signed && size == 4:
		return tensor.I32
	case signed:
		return tensor.I64
	case size == 1:
		return tensor.U8
	case size == 2:
		return tensor.U16
	case size == 4:
		return tensor.U32
	}
	return tensor.U64
}

// SliceTensor makes a Tensor of data with the given shape (nil: 1-D, the
// whole slice). The data are copied, little-endian, so the slice may
// change afterwards.
func SliceTensor[T Number](name string, data []T, shape []int64) tensor.Tensor {
	dt := DTypeOf[T]()
	if shape == nil {
		shape = []int64{int64(len(data))}
	}
	size := dt.Size()
	b := make([]byte, len(data)*size)
	for i, x := range data {
		switch size {
		case 1:
			b[i] = byte(int64(x))
		case 2:
			binary.LittleEndian.PutUint16(b[2*i:], uint16(int64(x)))
		case 4:
			if dt == tensor.F32 {
				binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(float32(x)))
			} else {
				binary.LittleEndian.PutUint32(b[4*i:], uint32(int64(x)))
			}
		case 8:
			switch dt {
			case tensor.F64:
				binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(float64(x)))
			case tensor.U64:
				binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
			default:
				binary.LittleEndian.PutUint64(b[8*i:], uint64(int64(x)))
			}
		}
	}
	return tensor.Tensor{Name: name, DType: dt, Shape: slices.Clone(shape), Data: tensor.MemData(b)}
}

// HalfTensor makes a Tensor of 16-bit floats held as their bits (dt F16
// or BF16), as Go ports usually store them.
func HalfTensor(name string, dt tensor.DType, bits []uint16, shape []int64) (tensor.Tensor, error) {
	if dt != tensor.F16 && dt != tensor.BF16 {
		return tensor.Tensor{}, fmt.Errorf("tensor %q: HalfTensor takes F16 or BF16, not %s", name, dt)
	}
	t := SliceTensor(name, bits, shape)
	t.DType = dt
	return t, nil
}

// CompareSlice compares ours, a port's result, against ref, the
// reference tensor, element by element: an element passes when
//
//	|ours - ref| <= atol + rtol * |ref|
//
// as in `refcmp tensors` (see Tolerance for NaN, infinities and the other
// checks). shape is ours's shape; nil means ref's shape, which ours must
// then fill exactly. The zero Tolerance means the dtype defaults, the
// looser of ref's and ours's (DefaultTolerance); set Check to give
// literal values (Tolerance{Check: CheckAllClose} is exact equality).
// Failing pairs get hints, as in the CLI; Result.Summary writes the
// diagnosis.
func CompareSlice[T Number](ref tensor.Tensor, ours []T, shape []int64, tol Tolerance) (Result, error) {
	if shape == nil {
		if n := ref.Numel(); n != int64(len(ours)) {
			return Result{}, fmt.Errorf("tensor %q: ours has %d elements, ref's shape %s needs %d (pass ours's shape to compare shapes)",
				ref.Name, len(ours), tensor.FormatShape(ref.Shape), n)
		}
		shape = ref.Shape
	} else if n, _ := tensor.Numel(shape); n != int64(len(ours)) {
		return Result{}, fmt.Errorf("tensor %q: ours has %d elements, its shape %s needs %d", ref.Name, len(ours), tensor.FormatShape(shape), n)
	}
	ot := SliceTensor(ref.Name, ours, shape)
	return CompareTensor(ref, ot, tol)
}

// CompareTensor is Compare with CompareSlice's tolerance convention: the
// zero Tolerance means the dtype defaults.
func CompareTensor(ref, ours tensor.Tensor, tol Tolerance) (Result, error) {
	if tol == (Tolerance{}) {
		tol = DefaultTolerance(ref.DType, ours.DType)
	}
	return Compare(ref, ours, tol)
}

// Float64s reads a whole tensor into a slice of float64 (every dtype
// converts exactly, integers up to 2^53), in C order.
func Float64s(t tensor.Tensor) ([]float64, error) {
	n, err := checkTensor("", t)
	if err != nil {
		return nil, err
	}
	size := int64(t.DType.Size())
	raw := make([]byte, n*size)
	if n > 0 {
		k, err := t.Data.ReadAt(raw, 0)
		if k != len(raw) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("tensor %q: shape %v %s needs %d bytes: %w", t.Name, t.Shape, t.DType, len(raw), err)
		}
	}
	out := make([]float64, n)
	decoderFor(t.DType)(out, raw)
	return out, nil
}
