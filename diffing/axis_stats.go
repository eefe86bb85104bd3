package diffing

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// axisStats are the extra pass's per-axis reductions: for every axis and
// every index along it, sums over the elements at that index (finite
// pairs only), and over the last two axes the mismatches per diagonal
// offset k = j - i, the last diagonal where each side is not masked, and
// the border distance of the mismatches.
//
// The pass is the diagnosis's main cost, so the work per element is a
// few adds: the data is walked by rows (fibers of the last axis); each
// element adds to its column's sums (the last axis, kept as parallel
// float64 arrays) and to its diagonal's mismatch count, and to the row's
// running sums in registers. A row's sums go to its index along axis
// nd-2 when the row ends, and an index's sums to its parent axis when
// that index ends, so the earlier axes cost a few adds per row. Counts of
// elements per column and per diagonal are difference arrays (two adds
// per row), the border is counted per row (only its first and last four
// columns are looked at one by one), and where a side is masked is found
// by scanning each row from its end to its last unmasked element (one
// element when nothing is masked). When the compare pass saw no NaN or
// Inf on either side, no element is tested for it.
//
// Memory is O(sum of min(dim, axisMaxIndexed)) per fork: an axis longer
// than axisMaxIndexed keeps no per-index sums (ax[a] is nil, see
// indexed), and the diagonals are counted only when both of the last two
// axes are within it. The detectors that read per-index sums skip such
// an axis, and the pair's notes say so.
type axisStats struct {
	shape      []int64
	atol, rtol float64
	kc         segmentConsts // atol, rtol for segmentAVX2
	// finite: neither side holds NaN or Inf, so no pair is skipped.
	finite bool
	ax     []axisSums // per axis
	band   bandSums   // last two axes (empty below 2-D)
	border [5]struct{ n, mis int64 }
	total  axisSum

	// Running sums, folded into the fields above by flush.
	col    colSums
	colN   []int64   // difference array: finite pairs per column
	bandM  []float64 // mismatches per diagonal
	bandN  []int64   // difference array: finite pairs per diagonal
	lvl    []axisSum // sums of the current index of axes 0..nd-2
	idx    []int64   // current index along axes 0..nd-2
	row    int64     // current row, -1 before the first
	refLv  int64     // last diagonal holding a finite unmasked ref value, -1 none
	oursLv int64
	scr    []float64 // 1-D: stands in for the diagonals
}

// axisSum sums over a set of elements: d = ours - ref.
type axisSum struct {
	n, mis                int64
	sr, sd, srr, srd, sdd float64
}

type axisSums []axisSum

// colSums are the last axis's running sums, one entry per index.
type colSums struct{ mis, sr, sd, srr, srd, sdd []float64 }

// bandSums are the last two axes' counts per diagonal k = j - i (index
// k + rows - 1), and the last diagonal where ref (ours) holds a finite
// value that is not masked (zero or <= -1e4, a masked score or
// probability), -1 if none.
type bandSums struct {
	rows, cols        int64
	n, mis            []int64
	refLive, oursLive int64
}

// axisMaxIndexed is the longest axis whose indices get their own sums:
// a longer one (a 1-D tensor of 256M elements, a [1, 200M] row) would
// cost gigabytes per fork, and its per-index patterns (a bias per index
// of 64K+ indices) are not what its detectors look for.
const axisMaxIndexed = 1 << 16

func newAxisStats(shape []int64, atol, rtol float64) *axisStats {
	nd := len(shape)
	s := &axisStats{shape: slices.Clone(shape), atol: atol, rtol: rtol, kc: newSegmentConsts(atol, rtol), row: -1, refLv: -1, oursLv: -1}
	s.ax = make([]axisSums, nd)
	for a, d := range shape {
		if d <= axisMaxIndexed {
			s.ax[a] = make(axisSums, d)
		}
	}
	s.band.refLive, s.band.oursLive = -1, -1
	if nd >= 1 && s.indexed(nd-1) {
		last := shape[nd-1]
		s.col = colSums{make([]float64, last), make([]float64, last), make([]float64, last),
			make([]float64, last), make([]float64, last), make([]float64, last)}
		s.colN = make([]int64, last+1)
	}
	if nd >= 2 {
		s.band.rows, s.band.cols = shape[nd-2], shape[nd-1]
		if s.indexed(nd-2) && s.indexed(nd-1) {
			nk := max(0, s.band.rows+s.band.cols-1)
			s.band.n, s.band.mis = make([]int64, nk), make([]int64, nk)
			s.bandM, s.bandN = make([]float64, nk), make([]int64, nk+1)
		}
	}
	s.lvl = make([]axisSum, max(0, nd-1))
	s.idx = make([]int64, max(0, nd-1))
	return s
}

// indexed reports whether axis a keeps per-index sums (ax[a]): it is
// not longer than axisMaxIndexed.
func (s *axisStats) indexed(a int) bool { return s.shape[a] <= axisMaxIndexed }

// longAxes are the axes without per-index sums.
func (s *axisStats) longAxes() []int {
	var out []int
	for a := range s.shape {
		if !s.indexed(a) {
			out = append(out, a)
		}
	}
	return out
}

func (s *axisStats) fork() chunkVisitor {
	q := newAxisStats(s.shape, s.atol, s.rtol)
	q.finite = s.finite
	return q
}

func (a *axisSum) add(b *axisSum) {
	a.n += b.n
	a.mis += b.mis
	a.sr += b.sr
	a.sd += b.sd
	a.srr += b.srr
	a.srd += b.srd
	a.sdd += b.sdd
}

func (s *axisStats) merge(next chunkVisitor) {
	q := next.(*axisStats)
	s.flush()
	q.flush()
	for a := range s.ax {
		for i := range s.ax[a] {
			s.ax[a][i].add(&q.ax[a][i])
		}
	}
	for i := range s.band.n {
		s.band.n[i] += q.band.n[i]
		s.band.mis[i] += q.band.mis[i]
	}
	s.band.refLive = max(s.band.refLive, q.band.refLive)
	s.band.oursLive = max(s.band.oursLive, q.band.oursLive)
	for i := range s.border {
		s.border[i].n += q.border[i].n
		s.border[i].mis += q.border[i].mis
	}
	s.total.add(&q.total)
}

// flushLevel moves the sums of axis a's current index into that index
// and into the parent axis's running sums (the total above axis 0).
func (s *axisStats) flushLevel(a int) {
	c := &s.lvl[a]
	if s.ax[a] != nil {
		s.ax[a][s.idx[a]].add(c)
	}
	if a == 0 {
		s.total.add(c)
	} else {
		s.lvl[a-1].add(c)
	}
	*c = axisSum{}
}

// flush folds the running sums into ax, band and total.
func (s *axisStats) flush() {
	if s.row >= 0 {
		for a := len(s.lvl) - 1; a >= 0; a-- {
			s.flushLevel(a)
		}
	}
	s.row = -1
	nd := len(s.shape)
	if nd == 0 {
		return
	}
	var n int64
	c, lastAx := &s.col, s.ax[nd-1]
	for j := range lastAx {
		n += s.colN[j]
		a := &lastAx[j]
		a.n += n
		a.mis += int64(c.mis[j])
		a.sr += c.sr[j]
		a.sd += c.sd[j]
		a.srr += c.srr[j]
		a.srd += c.srd[j]
		a.sdd += c.sdd[j]
		c.mis[j], c.sr[j], c.sd[j], c.srr[j], c.srd[j], c.sdd[j] = 0, 0, 0, 0, 0, 0
	}
	clear(s.colN)
	n = 0
	for k := range s.band.n {
		n += s.bandN[k]
		s.band.n[k] += n
		s.band.mis[k] += int64(s.bandM[k])
		s.bandM[k] = 0
	}
	clear(s.bandN)
	s.band.refLive = max(s.band.refLive, s.refLv)
	s.band.oursLive = max(s.band.oursLive, s.oursLv)
	s.refLv, s.oursLv = -1, -1
}

// toRow makes row the current one: the next row steps the indices (and
// ends the indices that change), any other row starts them anew.
func (s *axisStats) toRow(row int64) {
	nl := len(s.lvl)
	if nl == 0 {
		s.row = row
		return
	}
	if s.row >= 0 && row == s.row+1 {
		a := nl - 1
		s.flushLevel(a)
		s.idx[a]++
		for s.idx[a] == s.shape[a] && a > 0 {
			s.idx[a] = 0
			a--
			s.flushLevel(a)
			s.idx[a]++
		}
		s.row = row
		return
	}
	if s.row >= 0 {
		for a := nl - 1; a >= 0; a-- {
			s.flushLevel(a)
		}
	}
	r := row
	for a := nl - 1; a >= 0; a-- {
		s.idx[a] = r % s.shape[a]
		r /= s.shape[a]
	}
	s.row = row
}

// allFinite reports whether the compare pass saw no NaN or Inf on
// either side.
func allFinite(res *Result) bool {
	return res.Ref.NaN == 0 && res.Ref.Inf == 0 && res.Ours.NaN == 0 && res.Ours.Inf == 0
}

func masked(x float64) bool { return x == 0 || x <= -1e4 }

func (s *axisStats) visit(off int64, ref, ours []float64) {
	nd := len(s.shape)
	if nd == 0 || s.shape[nd-1] == 0 {
		return
	}
	last := s.shape[nd-1]
	ours = ours[:len(ref)]
	for k := 0; k < len(ref); {
		flat := off + int64(k)
		row := flat / last
		j0 := flat - row*last
		if row != s.row {
			s.toRow(row)
		}
		end := min(len(ref), k+int(last-j0))
		s.segment(j0, ref[k:end], ours[k:end])
		k = end
	}
}

// segment adds the elements j0.. of the current row.
func (s *axisStats) segment(j0 int64, r, o []float64) {
	if s.col.mis == nil {
		s.segmentLong(j0, r, o)
		return
	}
	nd := len(s.shape)
	n := len(r)
	o = o[:n]
	j1 := j0 + int64(n)
	band := s.bandM != nil
	c := &s.col
	cmis, csr, csd := c.mis[j0:j1], c.sr[j0:j1], c.sd[j0:j1]
	csrr, csrd, csdd := c.srr[j0:j1], c.srd[j0:j1], c.sdd[j0:j1]
	var bm []float64
	var i, bo int64
	if nd >= 2 {
		i = s.idx[nd-2]
		bo = s.band.rows - 1 - i // diagonal index of column 0
	}
	if band {
		bm = s.bandM[bo+j0 : bo+j1]
	} else {
		if len(s.scr) < n {
			s.scr = make([]float64, n)
		}
		bm = s.scr[:n] // no diagonals: counted and dropped
	}
	atol, rtol := s.atol, s.rtol
	var m, sr, sd, srr, srd, sdd float64
	var cnt int64
	if s.finite {
		v := segmentSums(r, o, cmis, csr, csd, csrr, csrd, csdd, bm, atol, rtol, &s.kc)
		m, sr, sd, srr, srd, sdd = v[0], v[1], v[2], v[3], v[4], v[5]
		if band {
			s.bandN[bo+j0]++
			s.bandN[bo+j1]--
		}
		cnt = int64(n)
		s.colN[j0]++
		s.colN[j1]--
	} else {
		// The same sums over the finite pairs, then their counts.
		var lanes [24]float64
		segmentLanes(r, o, cmis, csr, csd, csrr, csrd, csdd, bm, atol, rtol, 0, true, &lanes)
		v := sumLanes(&lanes)
		m, sr, sd, srr, srd, sdd = v[0], v[1], v[2], v[3], v[4], v[5]
		for e, x := range r {
			if y := o[e]; x-x != 0 || y-y != 0 {
				continue
			}
			cnt++
			j := j0 + int64(e)
			s.colN[j]++
			s.colN[j+1]--
			if band {
				s.bandN[bo+j]++
				s.bandN[bo+j+1]--
			}
		}
	}
	seg := axisSum{n: cnt, mis: int64(m), sr: sr, sd: sd, srr: srr, srd: srd, sdd: sdd}
	s.endSegment(j0, r, o, &seg, band)
}

// endSegment adds a segment's sums to its row's, and counts where each
// side is masked (band: the diagonals are counted) and the border.
func (s *axisStats) endSegment(j0 int64, r, o []float64, seg *axisSum, band bool) {
	nd := len(s.shape)
	if nd == 1 {
		s.total.add(seg)
		return
	}
	s.lvl[nd-2].add(seg)
	i := s.idx[nd-2]
	if band {
		// Where each side is last not masked in this segment.
		bo := s.band.rows - 1 - i
		s.refLv = max(s.refLv, s.lastLive(r, o, bo+j0, false))
		s.oursLv = max(s.oursLv, s.lastLive(r, o, bo+j0, true))
	}
	s.borderRow(i, j0, r, o, seg.n, seg.mis)
}

// segmentLong is segment for a last axis longer than axisMaxIndexed: the
// row's sums only.
func (s *axisStats) segmentLong(j0 int64, r, o []float64) {
	o = o[:len(r)]
	var seg axisSum
	for e, x := range r {
		y := o[e]
		if !s.finite && (x-x != 0 || y-y != 0) {
			continue
		}
		d := y - x
		seg.n++
		seg.mis += b2i(math.Abs(d) > allowance(s.atol, s.rtol, math.Abs(x)))
		seg.sr += x
		seg.sd += d
		seg.srr += x * x
		seg.srd += x * d
		seg.sdd += d * d
	}
	s.endSegment(j0, r, o, &seg, false)
}

// lastLive is the diagonal of the segment's last finite pair whose ref
// (ours) value is not masked, -1 if none; k0 is the first's diagonal.
func (s *axisStats) lastLive(r, o []float64, k0 int64, ours bool) int64 {
	for e := len(r) - 1; e >= 0; e-- {
		x, y := r[e], o[e]
		if x-x != 0 || y-y != 0 {
			continue
		}
		v := x
		if ours {
			v = y
		}
		if !masked(v) {
			return k0 + int64(e)
		}
	}
	return -1
}

// borderRow counts the segment's pairs (cnt, mis of them mismatching)
// by distance to the edges of the last two axes, capped at 4: the row's
// distance, less for its first and last columns.
func (s *axisStats) borderRow(i, j0 int64, r, o []float64, cnt, mis int64) {
	rows, cols := s.band.rows, s.band.cols
	di := min(i, rows-1-i, 4)
	s.border[di].n += cnt
	s.border[di].mis += mis
	j1 := j0 + int64(len(r))
	edge := func(j int64) {
		dj := min(j, cols-1-j)
		if dj >= di {
			return
		}
		x, y := r[j-j0], o[j-j0]
		if x-x != 0 || y-y != 0 {
			return
		}
		m := b2i(math.Abs(y-x) > s.atol+s.rtol*math.Abs(x))
		s.border[di].n--
		s.border[di].mis -= m
		s.border[dj].n++
		s.border[dj].mis += m
	}
	lo := min(j1, di) // the columns j < di, then those from cols-di
	for j := j0; j < lo; j++ {
		edge(j)
	}
	for j := max(j0, cols-di, lo); j < j1; j++ {
		edge(j)
	}
}

// fmtAxes names the axes as "axis a (size d)", comma separated.
func fmtAxes(shape []int64, axes []int) string {
	var b strings.Builder
	for i, a := range axes {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "axis %d (size %d)", a, shape[a])
	}
	return b.String()
}
