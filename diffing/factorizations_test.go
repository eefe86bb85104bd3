package diffing

import (
	"slices"
	"testing"
	"time"
)

func factorizationsSlow(d int64, k int) [][]int64 {
	if k == 1 {
		if d > 1 {
			return [][]int64{{d}}
		}
		return nil
	}
	var out [][]int64
	for f := int64(2); f*2 <= d; f++ {
		if d%f != 0 {
			continue
		}
		for _, rest := range factorizationsSlow(d/f, k-1) {
			out = append(out, append([]int64{f}, rest...))
		}
	}
	return out
}

func TestFactorizationsSame(t *testing.T) {
	for d := int64(1); d <= 2000; d++ {
		for k := 1; k <= 3; k++ {
			want := factorizationsSlow(d, k)
			if len(want) > maxFactorizations {
				want = want[:maxFactorizations]
			}
			got := factorizations(d, k)
			if !slices.EqualFunc(got, want, func(a, b []int64) bool { return slices.Equal(a, b) }) {
				t.Fatalf("d %d k %d: got %v want %v", d, k, got, want)
			}
		}
	}
}

// TestFactorizationsLargeAxis: an axis of 2^26 (a flat 256 MiB F32
// tensor) and a large prime are factored at once: the divisor search is
// O(sqrt(d)), not O(d) as it was (0.7 s of a 0.5 s-compare's diagnosis).
func TestFactorizationsLargeAxis(t *testing.T) {
	for _, d := range []int64{1 << 26, 2147483647, 1 << 40} {
		start := time.Now()
		fs := factorizations(d, 3)
		if el := time.Since(start); el > 2*time.Second {
			t.Errorf("factorizations(%d, 3) took %v", d, el)
		}
		for _, f := range fs {
			if f[0]*f[1]*f[2] != d {
				t.Fatalf("%v is not a factorization of %d", f, d)
			}
		}
	}
	if n := len(factorizations(1<<26, 3)); n != 300 {
		t.Errorf("2^26 in 3 ordered factors > 1: %d, want 300 (C(25, 2))", n)
	}
}
