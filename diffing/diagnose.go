package diffing

import (
	"math"
	"slices"

	"github.com/refcmp/refcmp/tensor"
)

// The diagnosis of a failing pair of the same shape is a set of detectors
// that share one input and one output. The input (diagInput) is the pair,
// its first-pass statistics, the per-axis reductions of the one extra
// streamed pass (axisStats, fed through the chunkVisitor interface with
// the |diff| histogram and the rounding and model checks) and bounded
// samples read at random positions. Each detector (detect_<name>.go)
// returns findings: a hint (kind, summary, evidence, where to look in the
// port) and a score. One finding becomes the primary diagnosis, the rest
// are listed after it as alternatives. Memory is O(sum of the dimensions
// + the samples), whatever the tensor size; no tensor is copied.

// chunkVisitor receives every decoded block of the extra streamed pass, in
// flat order within a chunk: off is the flat index of ref[0] and ours[0].
// The pass runs chunks in parallel: fork makes an empty visitor for one
// chunk, and merge folds in the visitor of the chunk that follows, so the
// result is the same whatever the number of workers. Consumers other
// than the detectors (e.g. picture accumulators) attach here.
type chunkVisitor interface {
	fork() chunkVisitor
	visit(off int64, ref, ours []float64)
	merge(next chunkVisitor)
}

// diagInput is what every detector reads.
type diagInput struct {
	ref, ours  tensor.Tensor
	res        *Result
	p          *partial // the compare pass
	ax         *axisStats
	rr, or     *elemReader
	atol, rtol float64
	sampled    bool // the extra pass read only some chunks
	// noise: the error is within the noise rule's bounds; detectors of
	// statistical patterns (where the mismatches lie, how they grow) then
	// stay silent, since rounding noise has such patterns too.
	noise bool
}

// finding is a detector's output: a hint and how much of the difference
// it explains (score in [0, 1], the fraction of Σ d² a fitted model
// accounts for, or the fraction of sampled positions it matches).
type finding struct {
	hint  TensorHint
	score float64
	// weak findings (a pattern without a named cause) are listed only
	// when nothing else is found.
	weak bool
	// Numbers behind the hint, for tests against numpy.
	axis    int
	offsets []float64
	scales  []float64
	fine    []int64
	perm    []int
	band    int
}

// detector looks for one kind of structure.
type detector func(in *diagInput) []finding

// detectors are tried in this order; the first finding is the primary
// diagnosis unless an earlier hint (an exact remapping, zeros, a whole-
// tensor scale or offset) already explains the pair.
func structureDetectors() []namedDetector {
	return []namedDetector{
		{detectReorder, true},
		{detectBand, false},
		{detectNormAxis, true},
		{detectRegion, false},
		{detectBroadcast, false},
		{detectNormStats, true},
		{detectPosition, false},
		{detectBorder, false},
		{detectElementwise, true},
	}
}

// namedDetector is a detector and whether it reads samples (sampling
// detectors are skipped once a cause is found: the reductions-only ones
// still run, for the alternatives).
type namedDetector struct {
	run      detector
	sampling bool
}

// close reports whether ours y matches ref x under the pair's element rule.
func (in *diagInput) close(x, y float64) bool {
	if x-x == 0 && y-y == 0 {
		return math.Abs(y-x) <= in.atol+in.rtol*math.Abs(x)
	}
	return x == y || in.res.Tolerance.EqualNaN && x != x && y != y
}

// axisStats are the extra pass's per-axis reductions: for every axis and
// every index along it, sums over the elements at that index (finite
// pairs only), and over the last two axes the same per diagonal offset
// k = j - i, with the border distance of the mismatches.
type axisStats struct {
	shape      []int64
	atol, rtol float64
	ax         []axisSums // per axis
	band       bandSums   // last two axes (nil arrays below 2-D)
	border     [5]struct{ n, mis int64 }
	total      axisSum

	// the current row (a fiber of the last axis), flushed when it ends
	row    int64
	rowAcc axisSum
	rowIdx []int64 // index of the current row along axes 0..nd-2
}

// axisSum sums over a set of elements: d = ours - ref.
type axisSum struct {
	n, mis                int64
	sr, sd, srr, srd, sdd float64
	sad                   float64
	refMasked, oursMasked int64 // zero or <= -1e4 (a masked score or probability)
}

type axisSums []axisSum

type bandSums struct {
	rows, cols int64
	k          []axisSum // index k + rows - 1
}

func newAxisStats(shape []int64, atol, rtol float64) *axisStats {
	s := &axisStats{shape: slices.Clone(shape), atol: atol, rtol: rtol, row: -1}
	s.ax = make([]axisSums, len(shape))
	for a, d := range shape {
		s.ax[a] = make(axisSums, d)
	}
	if nd := len(shape); nd >= 2 {
		s.band.rows, s.band.cols = shape[nd-2], shape[nd-1]
		s.band.k = make([]axisSum, s.band.rows+s.band.cols-1)
	}
	s.rowIdx = make([]int64, max(0, len(shape)-1))
	return s
}

func (s *axisStats) fork() chunkVisitor { return newAxisStats(s.shape, s.atol, s.rtol) }

func (a *axisSum) add(b *axisSum) {
	a.n += b.n
	a.mis += b.mis
	a.sr += b.sr
	a.sd += b.sd
	a.srr += b.srr
	a.srd += b.srd
	a.sdd += b.sdd
	a.sad += b.sad
	a.refMasked += b.refMasked
	a.oursMasked += b.oursMasked
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
	for i := range s.band.k {
		s.band.k[i].add(&q.band.k[i])
	}
	for i := range s.border {
		s.border[i].n += q.border[i].n
		s.border[i].mis += q.border[i].mis
	}
	s.total.add(&q.total)
}

// flush adds the current row's sums to the indices of axes 0..nd-2.
func (s *axisStats) flush() {
	if s.row < 0 {
		return
	}
	for a, i := range s.rowIdx {
		s.ax[a][i].add(&s.rowAcc)
	}
	s.total.add(&s.rowAcc)
	s.rowAcc = axisSum{}
	s.row = -1
}

func masked(x float64) bool { return x == 0 || x <= -1e4 }

func (s *axisStats) visit(off int64, ref, ours []float64) {
	nd := len(s.shape)
	if nd == 0 {
		return
	}
	last := s.shape[nd-1]
	if last == 0 {
		return
	}
	lastAx := s.ax[nd-1]
	ours = ours[:len(ref)]
	for k := 0; k < len(ref); {
		flat := off + int64(k)
		row, j0 := flat/last, flat%last
		if row != s.row {
			s.flush()
			s.row = row
			r := row
			for a := nd - 2; a >= 0; a-- {
				s.rowIdx[a] = r % s.shape[a]
				r /= s.shape[a]
			}
		}
		end := min(len(ref), k+int(last-j0))
		var i int64 = -1
		var bi0 int64
		if nd >= 2 {
			i = s.rowIdx[nd-2]
			bi0 = s.band.rows - 1 - i
		}
		for e := k; e < end; e++ {
			x, y := ref[e], ours[e]
			j := j0 + int64(e-k)
			var bs *axisSum
			if i >= 0 {
				bs = &s.band.k[bi0+j]
			}
			if x-x != 0 || y-y != 0 {
				continue
			}
			d := y - x
			ad := math.Abs(d)
			mis := b2i(ad > s.atol+s.rtol*math.Abs(x))
			c := &lastAx[j]
			c.n++
			c.mis += mis
			c.sr += x
			c.sd += d
			c.srr += x * x
			c.srd += x * d
			c.sdd += d * d
			c.sad += ad
			ra := &s.rowAcc
			ra.n++
			ra.mis += mis
			ra.sr += x
			ra.sd += d
			ra.srr += x * x
			ra.srd += x * d
			ra.sdd += d * d
			ra.sad += ad
			if bs != nil {
				bs.n++
				bs.mis += mis
				bs.sad += ad
				bs.refMasked += b2i(masked(x))
				bs.oursMasked += b2i(masked(y))
				dist := min(i, s.band.rows-1-i, j, s.band.cols-1-j, 4)
				s.border[dist].n++
				s.border[dist].mis += mis
			}
		}
		k = end
	}
}

// fitOffsets are the per-index least-squares models of d along axis a:
// a constant per index (offset) and an affine function of ref per index
// (d = α_i·ref + β_i, i.e. ours = (1+α_i)·ref + β_i), with their residual
// sums of squares.
type axisFit struct {
	offsets        []float64 // β_i of the offset model (mean d per index)
	scales, shift  []float64 // 1+α_i and β_i of the affine model
	sseOff, sseAff float64
	n              int64
}

func (s *axisStats) fit(a int) axisFit {
	f := axisFit{}
	for _, c := range s.ax[a] {
		f.n += c.n
		if c.n == 0 {
			f.offsets = append(f.offsets, 0)
			f.scales = append(f.scales, 1)
			f.shift = append(f.shift, 0)
			continue
		}
		n := float64(c.n)
		mean := c.sd / n
		ssd := max(0, c.sdd-c.sd*mean)
		f.offsets = append(f.offsets, mean)
		f.sseOff += ssd
		vr := c.srr - c.sr*c.sr/n
		cov := c.srd - c.sr*c.sd/n
		alpha := 0.0
		if vr > 1e-300 {
			alpha = cov / vr
		}
		beta := (c.sd - alpha*c.sr) / n
		f.scales = append(f.scales, 1+alpha)
		f.shift = append(f.shift, beta)
		sse := ssd
		if vr > 1e-300 {
			sse = max(0, ssd-cov*cov/vr)
		}
		f.sseAff += sse
	}
	return f
}

// explained is 1 - (sse/(n-params)) / (sdd/n): the share of Σ d² a model
// with params free parameters accounts for, adjusted for its size (a
// model with as many parameters as elements explains nothing).
func explained(sse, sdd float64, n, params int64) float64 {
	if sdd <= 0 || n <= params {
		return 0
	}
	return 1 - (sse/float64(n-params))/(sdd/float64(n))
}
