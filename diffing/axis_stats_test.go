package diffing

import (
	"reflect"
	"testing"
)

// TestAxisStatsBruteForce: the row-wise sums (both the all-finite path
// and the checked one) give the per-diagonal and border counts, and the
// last unmasked diagonals, that counting element by element gives.
func TestAxisStatsBruteForce(t *testing.T) {
	shape := []int64{2, 7, 9}
	rows, cols := int64(7), int64(9)
	r := randVals(71, 126)
	o := mapVals(r, func(i int, x float64) float64 {
		row, col := int64(i)/cols%rows, int64(i)%cols
		switch {
		case col-row > 3:
			return 0
		case i%3 == 0:
			return x + 1
		}
		return x
	})
	for i := range r {
		if int64(i)%cols-int64(i)/cols%rows > 2 {
			r[i] = 0
		}
	}
	var want [5]struct{ n, mis int64 }
	bn, bm := make([]int64, rows+cols-1), make([]int64, rows+cols-1)
	refLive, oursLive := int64(-1), int64(-1)
	for e := range r {
		i, j := int64(e)/cols%rows, int64(e)%cols
		mis := b2i(r[e] != o[e])
		d := min(i, rows-1-i, j, cols-1-j, 4)
		want[d].n++
		want[d].mis += mis
		k := j - i + rows - 1
		bn[k]++
		bm[k] += mis
		if !masked(r[e]) {
			refLive = max(refLive, k)
		}
		if !masked(o[e]) {
			oursLive = max(oursLive, k)
		}
	}
	var got []*axisStats
	for _, finite := range []bool{true, false} {
		s := newAxisStats(shape, 0, 0)
		s.finite = finite
		for _, cut := range [][2]int{{0, 5}, {5, 60}, {60, 126}} {
			q := s.fork().(*axisStats)
			q.visit(int64(cut[0]), r[cut[0]:cut[1]], o[cut[0]:cut[1]])
			s.merge(q)
		}
		s.flush()
		if s.border != want {
			t.Fatalf("finite %v: border %v, want %v", finite, s.border, want)
		}
		if !reflect.DeepEqual(s.band.n, bn) || !reflect.DeepEqual(s.band.mis, bm) ||
			s.band.refLive != refLive || s.band.oursLive != oursLive {
			t.Fatalf("finite %v: band %+v, want n %v mis %v live %d %d", finite, s.band, bn, bm, refLive, oursLive)
		}
		got = append(got, s)
	}
	if !reflect.DeepEqual(got[0].ax, got[1].ax) || got[0].total != got[1].total {
		t.Fatal("the all-finite path and the checked path differ")
	}
}
