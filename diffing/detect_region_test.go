package diffing

import "testing"

func TestDetectRegion(t *testing.T) {
	shape := []int64{4, 8, 16}
	ref := randVals(51, 4*8*16)
	t.Run("one batch entry from a position", func(t *testing.T) {
		// Padding from token 5 in batch entry 2.
		ours := mapVals(ref, func(i int, x float64) float64 {
			if i/128 == 2 && i/16%8 >= 5 {
				return 0
			}
			return x
		})
		in, fs := runCase(t, detectRegion, shape, ref, ours)
		f := wantKind(t, fs, TensorHintConfined)
		if f.axis != 0 || in.p.lo[0] != 2 || in.p.hi[0] != 2 || in.p.lo[1] != 5 || in.p.hi[1] != 7 {
			t.Fatalf("axis %d, box %v..%v; want axis 0, [2 5 _]..[2 7 _]", f.axis, in.p.lo, in.p.hi)
		}
	})
	t.Run("near miss: mismatches everywhere", func(t *testing.T) {
		ours := mapVals(ref, func(i int, x float64) float64 {
			if i%37 == 0 || i == len(ref)-1 {
				return x + 1
			}
			return x
		})
		_, fs := runCase(t, detectRegion, shape, ref, ours)
		wantNone(t, fs)
	})
	t.Run("noise", func(t *testing.T) { wantNoise(t, detectRegion, shape, ref) })
}
