package diffing

import (
	"math"
	"math/rand/v2"
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
	pts   []samplePoint // the shared sample, read on first use (points)
	// nonfinite counts, when ours introduces NaN or Inf, what ref holds
	// there (nil otherwise).
	nonfinite *nonfiniteCounts
}

// samplePoint is one position of the shared sample: ref and ours there
// and at the next flat position.
type samplePoint struct {
	r, o, r1, o1 float64
}

// points is the sample the elementwise and dropout detectors share:
// elemSamples positions drawn at random (every position, for a smaller
// pair), read in ascending order (random reads of a large pair cost a
// cache and a TLB miss each, fewer in order), with the next position's
// values too. A read error is left in in.rr.err or in.or.err.
func (in *diagInput) points() []samplePoint {
	n := in.res.Numel
	if in.pts != nil || n < 2 {
		return in.pts
	}
	k := min(n-1, elemSamples)
	js := make([]int64, k)
	rng := rand.New(rand.NewPCG(0xe1e, uint64(n)))
	for i := range js {
		js[i] = int64(i)
		if n-1 > elemSamples {
			js[i] = rng.Int64N(n - 1)
		}
	}
	slices.Sort(js)
	in.pts = make([]samplePoint, k)
	for i, j := range js {
		in.pts[i] = samplePoint{in.rr.get(j), in.or.get(j), in.rr.get(j + 1), in.or.get(j + 1)}
	}
	return in.pts
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
		{detectNonFinite, false},
		{detectDirected, true},
		{detectReorder, true},
		{detectDropout, true},
		{detectIndexPerm, true},
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
		f.offsets = append(f.offsets, mean)
		f.sseOff += c.offsetSSE()
		vr := c.srr - c.sr*c.sr/n
		alpha := 0.0
		if vr > 1e-300 {
			alpha = (c.srd - c.sr*c.sd/n) / vr
		}
		beta := (c.sd - alpha*c.sr) / n
		f.scales = append(f.scales, 1+alpha)
		f.shift = append(f.shift, beta)
		f.sseAff += c.affineSSE()
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

// offsetSSE is the residual Σ (d - mean d)² of one offset for the set.
func (a *axisSum) offsetSSE() float64 {
	if a.n == 0 {
		return 0
	}
	return max(0, a.sdd-a.sd*(a.sd/float64(a.n)))
}

// affineSSE is the residual Σ (d - α·ref - β)² of one least-squares line
// for the set: per index in fit, and for the whole tensor the simpler
// model a per-index or per-row model must beat.
func (a *axisSum) affineSSE() float64 {
	ssd := a.offsetSSE()
	if a.n == 0 {
		return ssd
	}
	n := float64(a.n)
	vr := a.srr - a.sr*a.sr/n
	if vr <= 1e-300 {
		return ssd
	}
	cov := a.srd - a.sr*a.sd/n
	return max(0, ssd-cov*cov/vr)
}

// beatsSimpler reports whether a model with params parameters leaving sse
// of n points removes at least nestedMinGain of what the simpler model
// (simplerParams parameters, leaving simpler) leaves, both adjusted for
// their sizes: a per-index fit that merely redoes one scale for the
// whole tensor (ours ≈ 0.2·ref, an average pool for a max pool) explains
// 99% of Σ d² without saying anything per index.
func beatsSimpler(sse float64, params int64, simpler float64, simplerParams, n int64) bool {
	if n <= params || simpler <= 0 {
		return simpler <= 0 && sse <= 0
	}
	return sse/float64(n-params) <= (1-nestedMinGain)*simpler/float64(n-simplerParams)
}

// nestedMinGain is the share of the simpler model's residual a per-index
// or per-row model must remove.
const nestedMinGain = 0.9
