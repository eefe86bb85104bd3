package diffing

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

func arangeTensor(shape []int64) tensor.Tensor {
	n, _ := tensor.Numel(shape)
	buf := make([]byte, 4*n)
	for i := range n {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(float32(i)))
	}
	return tensor.Tensor{Name: "x", DType: tensor.F32, Shape: shape, Data: bytes.NewReader(buf)}
}

func TestSliceOf(t *testing.T) {
	x := arangeTensor([]int64{2, 3, 4})
	for _, tc := range []struct {
		slice string
		shape []int64
		want  []float64
	}{
		{"[1, :, 1:3]", []int64{3, 2}, []float64{13, 14, 17, 18, 21, 22}},
		{"[-1, -1]", []int64{4}, []float64{20, 21, 22, 23}},
		{"[..., 0]", []int64{2, 3}, []float64{0, 4, 8, 12, 16, 20}},
		{"[0, 1, 2]", []int64{}, []float64{6}},
		{"[:, 5:]", []int64{2, 0, 4}, nil},
		{"[0, -10:2]", []int64{2, 4}, []float64{0, 1, 2, 3, 4, 5, 6, 7}},
		{"", []int64{2, 3, 4}, nil},
	} {
		sl, err := ParseSlice(tc.slice, x.Shape)
		if err != nil {
			t.Fatalf("ParseSlice(%q): %v", tc.slice, err)
		}
		s, err := SliceOf(x, sl)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Shape, tc.shape) {
			t.Errorf("%s: shape %v, want %v", tc.slice, s.Shape, tc.shape)
		}
		v, err := ReadValues(s, nil, 3, 1000)
		if err != nil {
			t.Fatalf("%s: %v", tc.slice, err)
		}
		if tc.want != nil && !slices.Equal(v.Data, tc.want) {
			t.Errorf("%s: values %v, want %v", tc.slice, v.Data, tc.want)
		}
	}
}

func TestReadValuesSummarized(t *testing.T) {
	x := arangeTensor([]int64{40, 50})
	v, err := ReadValues(x, nil, 2, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Summarized || !slices.Equal(v.Shown[0], []int64{0, 1, 38, 39}) || len(v.Data) != 16 {
		t.Fatalf("summary: %+v", v)
	}
	if v.Data[5] != 51 || v.Data[15] != 1999 {
		t.Errorf("values %v", v.Data)
	}
}

// FuzzParseSlice: no slice text panics, and an accepted slice stays in
// the shape.
func FuzzParseSlice(f *testing.F) {
	for _, s := range []string{"[0, :, 3:5]", "[-1]", "[...]", "[::2]", "[1:0]", "[x]", "[,]", "[... , ...]", "[9999999999999999999]"} {
		f.Add(s)
	}
	shape := []int64{2, 3, 4}
	f.Fuzz(func(t *testing.T, s string) {
		sl, err := ParseSlice(s, shape)
		if err != nil {
			return
		}
		for i, a := range sl {
			if a.Start < 0 || a.Stop > shape[i] || a.Start > a.Stop {
				t.Fatalf("%q: axis %d range %d:%d outside %d", s, i, a.Start, a.Stop, shape[i])
			}
		}
		x := arangeTensor(shape)
		st, err := SliceOf(x, sl)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ReadValues(st, nil, 3, 1000); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	})
}

// FuzzParseBaseline: no input panics.
func FuzzParseBaseline(f *testing.F) {
	f.Add([]byte(`{"tensors": [{"name": "a", "max_abs_diff": 1, "nmse": "NaN", "mismatched": 3, "pass": false}], "counts": {}}`))
	f.Add([]byte(`{"version": 1}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBaseline(data)
		if err == nil && len(b.Names) != len(b.Figures) {
			t.Fatalf("names %d, figures %d", len(b.Names), len(b.Figures))
		}
	})
}
