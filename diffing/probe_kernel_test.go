package diffing

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// probeValues are finite pairs with the edges the kernels must get right:
// zeros, subnormals, values around each format's smallest normal and
// largest finite number, equal pairs, huge differences.
func probeValues(rng *rand.Rand, n int) (r, o []float64) {
	r, o = make([]float64, n), make([]float64, n)
	edges := []float64{0, math.Copysign(0, -1), 5e-324, 1e-310, 0x1p-14, 0x1p-15, 0x1p-6, 0x1p-126, 65504, 65520, 448, 480, 57344, 3.4e38, 1e300, -1e300}
	for i := range r {
		switch rng.IntN(4) {
		case 0:
			r[i] = edges[rng.IntN(len(edges))]
		default:
			r[i] = rng.NormFloat64() * math.Pow(10, float64(rng.IntN(12)-6))
		}
		switch rng.IntN(4) {
		case 0:
			o[i] = r[i]
		case 1:
			o[i] = edges[rng.IntN(len(edges))]
		default:
			o[i] = r[i] * (1 + 1e-3*rng.NormFloat64())
		}
	}
	return r, o
}

// TestSegmentKernelTwin checks that segmentAVX2 and its portable twin
// give the same bits: the column sums and the row's lanes.
func TestSegmentKernelTwin(t *testing.T) {
	if !probeAsm {
		t.Skip("no AVX2 kernels in this build")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for n := range 70 {
		r, o := probeValues(rng, n)
		atol, rtol := []float64{0, 1e-5, 1e-8}[n%3], []float64{0, 1.3e-6, 1e-2}[n%3]
		cols := func() [7][]float64 {
			var c [7][]float64
			for k := range c {
				c[k] = make([]float64, n)
				for j := range c[k] {
					c[k][j] = float64(rng.IntN(9)) * 0.1
				}
			}
			return c
		}
		a := cols()
		b := a
		for k := range b {
			b[k] = append([]float64(nil), a[k]...)
		}
		var la, lb [24]float64
		c := newSegmentConsts(atol, rtol)
		k := n &^ 3
		segmentAVX2(r[:k], o[:k], a[0], a[1], a[2], a[3], a[4], a[5], a[6], &c[0], &la)
		segmentLanes(r[:k], o[:k], b[0][:k], b[1][:k], b[2][:k], b[3][:k], b[4][:k], b[5][:k], b[6][:k], atol, rtol, 0, false, &lb)
		for v := range la {
			if math.Float64bits(la[v]) != math.Float64bits(lb[v]) {
				t.Fatalf("n %d: lane %d: kernel %v, twin %v", n, v, la[v], lb[v])
			}
		}
		for col := range a {
			for j := range a[col] {
				if math.Float64bits(a[col][j]) != math.Float64bits(b[col][j]) {
					t.Fatalf("n %d: column sums %d[%d]: kernel %v, twin %v", n, col, j, a[col][j], b[col][j])
				}
			}
		}
	}
}

// TestLowKernel checks lowSums (the kernel and the twin) against
// probeLow's element-by-element counts, for every narrower format.
func TestLowKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.F8E4M3, tensor.F8E5M2} {
		f, _ := formatOf(dt)
		rtol, atol := dtypeTolerance(dt)
		lf := lowFormat{f: f, rtol: rtol, atol: atol}
		for _, n := range []int{0, 1, 3, 4, 7, 64, 1023} {
			r, o := probeValues(rng, n)
			var want, got, twin lowCount
			want.oursOff = 1 // the holds checks off, as lowSums leaves them
			probeLow(r, o, &lf, &want, false)
			lowSums(r, o, &lf, &got)
			var lanes [20]uint64
			lowLanes(r, o, &lf, 0, &lanes)
			for l := range 4 {
				twin.maxRatio = max(twin.maxRatio, math.Float64frombits(lanes[l]))
				twin.over += int64(lanes[8+l])
				twin.tolMis += int64(lanes[12+l])
				twin.outRange += int64(lanes[16+l])
			}
			for _, c := range []lowCount{got, twin} {
				if c.over != want.over || c.tolMis != want.tolMis || c.outRange != want.outRange || c.maxRatio != want.maxRatio {
					t.Fatalf("%v n %d: got over %d tolMis %d outRange %d max %v, want %d %d %d %v",
						dt, n, c.over, c.tolMis, c.outRange, c.maxRatio, want.over, want.tolMis, want.outRange, want.maxRatio)
				}
			}
			if d := math.Abs(got.sumRatio - want.sumRatio); d > 1e-12*want.sumRatio {
				t.Fatalf("%v n %d: sum of ratios %v, want %v", dt, n, got.sumRatio, want.sumRatio)
			}
		}
	}
}

func BenchmarkProbePairs(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	r, o := make([]float64, blockElems), make([]float64, blockElems)
	for i := range r {
		r[i] = rng.NormFloat64()
		o[i] = r[i] + 1e-3*rng.NormFloat64()
	}
	dec := newDecades()
	var hists [4][]int64
	for k := range hists {
		hists[k] = make([]int64, histLen+1)
	}
	b.SetBytes(16 * blockElems)
	for b.Loop() {
		probePairs(r, o, dec, &hists, true)
	}
}

// TestDecadeBins checks the decades table against decade() for every
// binade and the arithmetic binsAVX2 uses in place of its bin column,
// and the kernel's bins against the table's, on the edge values.
func TestDecadeBins(t *testing.T) {
	dec := newDecades()
	for e := 1; e < 2048; e++ {
		e2 := e - 1023
		want := int(dec.bin[e])
		if got := 1 + (e2*78913)>>18 - histMinDecade; got != want {
			t.Fatalf("binade %d: arithmetic bin %d, table %d", e, got, want)
		}
		if e < 2047 {
			if k := decade(math.Float64frombits(uint64(e) << 52)); want != 1+k-histMinDecade {
				t.Fatalf("binade %d: table bin %d, decade %d", e, want, k)
			}
		}
	}
	if !probeAsm {
		t.Skip("no AVX2 kernels in this build")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{0, 4, 64, blockElems} {
		r, o := probeValues(rng, n)
		if n > 0 {
			r[0], o[0] = -1.7e308, 1.7e308 // an infinite |d|
		}
		got := make([]int64, n)
		var sub uint64
		c := [16]uint64{}
		for l := range 4 {
			c[l], c[4+l], c[8+l], c[12+l] = 1<<63-1, 1023, 78913, 1-histMinDecade
		}
		binsAVX2(r, o, &dec.thresh, &c[0], got, &sub)
		if n > 0 && got[0] != histLen-1 {
			t.Fatalf("an infinite |d| in bin %d, want the last decade's, %d", got[0], histLen-1)
		}
		wantSub := false
		for i := range r {
			ad := math.Abs(o[i] - r[i])
			e := math.Float64bits(ad) >> 52 & 0x7ff
			want := int64(dec.bin[e]) + b2i(ad >= dec.thresh[e])
			wantSub = wantSub || e == 0 && ad != 0
			if got[i] != want {
				t.Fatalf("n %d pair %d (|d| %g): bin %d, want %d", n, i, ad, got[i], want)
			}
		}
		if (sub != 0) != wantSub {
			t.Fatalf("n %d: subnormal flag %d, want %v", n, sub, wantSub)
		}
	}
}
