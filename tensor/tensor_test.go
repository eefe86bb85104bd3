package tensor

import (
	"math"
	"testing"
)

func TestNumel(t *testing.T) {
	big := int64(1) << 32
	for _, c := range []struct {
		shape []int64
		n     int64
		ok    bool
	}{
		{nil, 0, false},                           // unknown
		{[]int64{}, 1, true},                      // scalar
		{[]int64{0}, 0, true},                     // empty
		{[]int64{3, 4}, 12, true},                 //
		{[]int64{2, -1}, 0, false},                // negative
		{[]int64{big, big}, math.MaxInt64, false}, // overflow saturates
		{[]int64{big, big, 0}, 0, true},           // a zero dimension wins
		{[]int64{big, big, -1}, 0, false},         // a negative one too
		{[]int64{math.MaxInt64}, math.MaxInt64, true},
	} {
		n, ok := Numel(c.shape)
		if n != c.n || ok != c.ok {
			t.Errorf("Numel(%v) = %d, %v; want %d, %v", c.shape, n, ok, c.n, c.ok)
		}
	}
	if n := (Tensor{}).Numel(); n != 1 {
		t.Errorf("Tensor{}.Numel() = %d, want 1 (a nil shape with data is a scalar)", n)
	}
}

func TestFormatShape(t *testing.T) {
	for shape, want := range map[*[]int64]string{&[]int64{}: "[]", &[]int64{4096, 32000}: "[4096 32000]"} {
		if got := FormatShape(*shape); got != want {
			t.Errorf("FormatShape(%v) = %q, want %q", *shape, got, want)
		}
	}
	if got := FormatShape(nil); got != "?" {
		t.Errorf("FormatShape(nil) = %q, want ?", got)
	}
}
