package diffing

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/refcmp/refcmp/tensor"
)

// Element is one element of a pair: its position and both values.
type Element struct {
	Index  []int64      `json:"index"`  // multi-dimensional index ([] for a scalar)
	Offset int64        `json:"offset"` // flat position in C order
	Ref    tensor.Float `json:"ref"`
	Ours   tensor.Float `json:"ours"`
}

// Result is the numeric comparison of one pair of tensors: plain data for
// the renderers. JSON field names are part of refcmp's stable output.
//
// Which elements count:
//   - Ref and Ours describe each side's finite values (see SideStats).
//   - The difference statistics (MaxAbsDiff, MeanAbsDiff, MaxRelDiff,
//     RMSE, NMSE, Cosine, Worst) are over the pairs where both values are
//     finite (FinitePairs of them); they are NaN when there is none.
//   - Mismatched counts every element that breaks the element rule of
//     Tolerance (with Exact: every differing element), non-finite pairs
//     included; MismatchFraction is Mismatched / Numel.
//
// Definitions: d = ours - ref. MaxRelDiff = max |d| / |ref| (0/0 = 0,
// x/0 = +Inf, as torch reports). RMSE = sqrt(mean d²). NMSE = mean d² /
// var(ref) (population variance of ref's finite values; 0 when both are
// 0, +Inf when only the variance is). Cosine = Σ ref·ours / (‖ref‖‖ours‖),
// 1 when both norms are 0 and 0 when one is.
//
// Precision: d, |d|/|ref| and the element rule's allowance
// atol + rtol·|ref| are computed as numpy and torch compute them, each
// operation rounded to float64 (no fused multiply-add), so MaxAbsDiff,
// MaxRelDiff and the mismatches are exactly theirs, subnormal ref
// included. Sums are compensated and scaled by powers of two where
// squares would overflow or underflow, so Mean, Std, MeanAbsDiff, RMSE,
// NMSE and Cosine are accurate over the whole float64 range (a d that
// overflows float64 makes MaxAbsDiff +Inf, as in numpy, but RMSE and
// MeanAbsDiff stay finite when the true values are). Integer pairs with
// an I64 or U64 side take d from the integers, not from float64 values.
type Result struct {
	Name          string       `json:"name"`
	OursName      string       `json:"ours_name"`
	Shape         []int64      `json:"shape"`
	OursShape     []int64      `json:"ours_shape,omitempty"` // set when the shapes differ
	ShapeMismatch bool         `json:"shape_mismatch,omitempty"`
	RefDType      tensor.DType `json:"ref_dtype"`
	OursDType     tensor.DType `json:"ours_dtype"`
	Numel         int64        `json:"numel"`

	Ref  SideStats `json:"ref"`
	Ours SideStats `json:"ours"`

	FinitePairs      int64        `json:"finite_pairs"`
	MaxAbsDiff       tensor.Float `json:"max_abs_diff"`
	MeanAbsDiff      tensor.Float `json:"mean_abs_diff"`
	MaxRelDiff       tensor.Float `json:"max_rel_diff"`
	RMSE             tensor.Float `json:"rmse"`
	NMSE             tensor.Float `json:"nmse"`
	Cosine           tensor.Float `json:"cosine"`
	Mismatched       int64        `json:"mismatched"`
	MismatchFraction tensor.Float `json:"mismatch_fraction"`
	Worst            *Element     `json:"worst"`          // largest |d| among finite pairs; nil when max |d| is 0
	FirstMismatch    *Element     `json:"first_mismatch"` // nil when nothing mismatches

	// Introduced counts elements where ours is NaN or ±Inf and ref is
	// finite; any makes the pair fail, whatever the check.
	Introduced      int64    `json:"introduced"`
	FirstIntroduced *Element `json:"first_introduced"`

	Tolerance Tolerance `json:"tolerance"`
	Pass      bool      `json:"pass"`

	// Hints are diagnoses of a failing pair, each with its evidence.
	Hints []TensorHint `json:"hints"`
	// Histogram of |d| by decade, for failing pairs (nil otherwise).
	Histogram []HistBin `json:"histogram,omitempty"`
	// Picture is what the pictures of a failing pair are drawn from,
	// gathered by the diagnosis pass when Options.Pictures asks for it
	// (nil otherwise). It is not part of the JSON.
	Picture *Picture `json:"-"`
	// Notes are facts a reader should know (e.g. a hint check that was capped).
	Notes []string `json:"notes,omitempty"`
	// Quant is the quantization-aware verdict of a block-quantized tensor
	// against its float source (see QuantCheck); nil for other pairs.
	Quant *QuantCheck `json:"quant,omitempty"`
}

// Options tunes CompareWith. The zero value is what Compare uses.
type Options struct {
	// Workers bounds the goroutines reading and reducing chunks; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Workers int
	// Progress, when set, is called after each chunk with the number of
	// input bytes (both sides) processed so far. It is called from one
	// goroutine at a time.
	Progress func(done int64)
	// NoHints skips the diagnosis of failing pairs (and their histogram).
	NoHints bool
	// Pictures has the diagnosis pass of a failing pair also gather
	// Result.Picture (reading every chunk of the pair for it; the hints
	// stay the same).
	Pictures bool

	pureGo bool // tests: use the portable kernel even where assembly exists
}

// ByteSource is implemented by tensor data already in memory (a byte
// slice, a memory-mapped file): Compare then reads it in place instead of
// copying it with ReadAt. Bytes returns the whole tensor's data.
type ByteSource interface {
	io.ReaderAt
	Bytes() []byte
}

const (
	// chunkElems is the number of elements each worker reads and reduces
	// at a time. It is a constant so that results do not depend on the
	// number of workers: partial results are merged in chunk order.
	chunkElems = 1 << 16
	// blockElems is the number of elements decoded to float64 at a time
	// (two blocks stay in the L1 cache).
	blockElems = 1024
)

// Compare compares ours against ref under tol in one pass over both, in
// parallel over GOMAXPROCS workers. Differences, including different
// shapes, are results; errors are for unusable input (unknown dtype, short
// data, read failures) and carry the tensor name.
func Compare(ref, ours tensor.Tensor, tol Tolerance) (Result, error) {
	return CompareWith(ref, ours, tol, Options{})
}

// CompareWith is Compare with options.
func CompareWith(ref, ours tensor.Tensor, tol Tolerance, opt Options) (Result, error) {
	res := Result{
		Name:      ref.Name,
		OursName:  ours.Name,
		Shape:     slices.Clone(ref.Shape),
		RefDType:  ref.DType,
		OursDType: ours.DType,
		Tolerance: tol,
		Hints:     []TensorHint{},
	}
	if res.Shape == nil {
		res.Shape = []int64{}
	}
	if res.Tolerance.Check == "" {
		res.Tolerance.Check = CheckAllClose
	}
	if err := tol.Validate(); err != nil {
		return res, fmt.Errorf("tensor %q: %w", ref.Name, err)
	}
	rn, err := checkTensor("ref", ref)
	if err != nil {
		return res, err
	}
	on, err := checkTensor("ours", ours)
	if err != nil {
		return res, err
	}
	res.Numel = rn
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	if !slices.Equal(ref.Shape, ours.Shape) {
		res.ShapeMismatch = true
		res.OursShape = slices.Clone(ours.Shape)
		if res.OursShape == nil {
			res.OursShape = []int64{}
		}
		// Each side's statistics, on its own.
		rp, err := scan(ref, ref, rn, nil, &res.Tolerance, workers, opt.Progress, opt.pureGo)
		if err != nil {
			return res, err
		}
		op, err := scan(ours, ours, on, nil, &res.Tolerance, workers, opt.Progress, opt.pureGo)
		if err != nil {
			return res, err
		}
		res.Ref = rp.ref.stats()
		res.Ours = op.ref.stats()
		nan := tensor.Float(math.NaN())
		res.MaxAbsDiff, res.MeanAbsDiff, res.MaxRelDiff = nan, nan, nan
		res.RMSE, res.NMSE, res.Cosine, res.MismatchFraction = nan, nan, nan, nan
		if !opt.NoHints {
			hints, err := shapeHints(ref, ours, &res)
			if err != nil {
				return res, err
			}
			res.Hints = append(res.Hints, hints...)
		}
		return res, nil
	}

	p, err := scan(ref, ours, rn, ref.Shape, &res.Tolerance, workers, opt.Progress, opt.pureGo)
	if err != nil {
		return res, err
	}
	p.fill(&res, ref.Shape)
	if !res.Pass && !opt.NoHints {
		if err := diagnose(ref, ours, &res, &p, workers, opt.Pictures); err != nil {
			return res, err
		}
	}
	return res, nil
}

// checkTensor validates a tensor's dtype, shape and data length and
// returns its element count. side ("ref", "ours" or "") goes into the
// errors after the tensor's name.
func checkTensor(side string, t tensor.Tensor) (int64, error) {
	where := fmt.Sprintf("tensor %q", t.Name)
	if side != "" {
		where += ": " + side
	}
	if decoderFor(t.DType) == nil {
		return 0, fmt.Errorf("%s: unsupported dtype %q", where, t.DType.String())
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return 0, fmt.Errorf("%s: negative dimension in shape %v", where, t.Shape)
		}
		if d != 0 && n > math.MaxInt64/int64(t.DType.Size())/d {
			return 0, fmt.Errorf("%s: shape %v is too large", where, t.Shape)
		}
		n *= d
	}
	if t.Data == nil {
		if n == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("%s: no data", where)
	}
	need := n * int64(t.DType.Size())
	if s, ok := t.Data.(interface{ Size() int64 }); ok && s.Size() < need {
		return 0, fmt.Errorf("%s: shape %v %s needs %d bytes, data has %d", where, t.Shape, t.DType, need, s.Size())
	}
	if s, ok := t.Data.(ByteSource); ok && int64(len(s.Bytes())) < need {
		return 0, fmt.Errorf("%s: shape %v %s needs %d bytes, data has %d", where, t.Shape, t.DType, need, len(s.Bytes()))
	}
	return n, nil
}

// mismatchMode says where mismatches come from.
type mismatchMode int

const (
	modeTol  mismatchMode = iota // the element rule on decoded values
	modeRaw                      // bitwise on the raw bytes (same dtype)
	modeBits                     // bitwise on decoded values (different dtypes)
)

// partial is the reduction of one chunk (or, merged, of a prefix of the
// tensor). Indices are flat; -1 means none.
type partial struct {
	ref, ours     moments
	pairs         int64
	sad, sdd, dot xsum
	rr, oo        xsum
	maxAbs        float64
	worst         int64
	worstR        float64
	worstO        float64
	maxRel        float64
	mis, nfMis    int64
	first         int64
	firstR        float64
	firstO        float64
	intro         int64
	firstIntro    int64
	introR        float64
	introO        float64
	lo, hi        []int64 // bounding box of the mismatches (nil: not tracked)
}

func newPartial() partial {
	return partial{ref: newMoments(), ours: newMoments(), worst: -1, first: -1, firstIntro: -1}
}

// addBlock folds a block starting at flat index base into p.
func (p *partial) addBlock(base int64, b *blockOut, r, o []float64) {
	p.ref.nan += b.rnan
	p.ref.inf += b.rinf
	p.ours.nan += b.onan
	p.ours.inf += b.oinf
	p.ref.mergeSide(b.r)
	p.ref.mergeSide(b.rx)
	p.ours.mergeSide(b.o)
	p.ours.mergeSide(b.ox)
	p.pairs += b.pairs
	p.sad.add(b.sad, b.ed)
	p.sdd.add(b.sdd, 2*b.ed)
	p.dot.add(b.dot, b.r.e+b.o.e)
	p.rr.add(b.rr, 2*b.r.e)
	p.oo.add(b.oo, 2*b.o.e)
	if b.worst >= 0 {
		p.maxAbs = b.maxAbs
		p.worst = base + int64(b.worst)
		p.worstR, p.worstO = r[b.worst], o[b.worst]
	}
	p.maxRel = max(p.maxRel, b.maxRel)
	p.mis += b.mis
	p.nfMis += b.nfMis
	if p.first < 0 && b.first >= 0 {
		p.first = base + int64(b.first)
		p.firstR, p.firstO = r[b.first], o[b.first]
	}
	p.intro += b.intro
	if p.firstIntro < 0 && b.firstIntro >= 0 {
		p.firstIntro = base + int64(b.firstIntro)
		p.introR, p.introO = r[b.firstIntro], o[b.firstIntro]
	}
}

// merge folds q, the reduction of the elements after p's, into p.
func (p *partial) merge(q *partial) {
	p.ref.merge(&q.ref)
	p.ours.merge(&q.ours)
	p.pairs += q.pairs
	p.sad.addX(q.sad)
	p.sdd.addX(q.sdd)
	p.dot.addX(q.dot)
	p.rr.addX(q.rr)
	p.oo.addX(q.oo)
	if q.worst >= 0 && (p.worst < 0 || q.maxAbs > p.maxAbs) {
		p.maxAbs, p.worst, p.worstR, p.worstO = q.maxAbs, q.worst, q.worstR, q.worstO
	}
	p.maxRel = max(p.maxRel, q.maxRel)
	p.mis += q.mis
	p.nfMis += q.nfMis
	if p.first < 0 && q.first >= 0 {
		p.first, p.firstR, p.firstO = q.first, q.firstR, q.firstO
	}
	p.intro += q.intro
	if p.firstIntro < 0 && q.firstIntro >= 0 {
		p.firstIntro, p.introR, p.introO = q.firstIntro, q.introR, q.introO
	}
	if q.lo != nil {
		if p.lo == nil {
			p.lo, p.hi = slices.Clone(q.lo), slices.Clone(q.hi)
		} else {
			for a := range p.lo {
				p.lo[a], p.hi[a] = min(p.lo[a], q.lo[a]), max(p.hi[a], q.hi[a])
			}
		}
	}
}

// fill writes the statistics and the verdict into res.
func (p *partial) fill(res *Result, shape []int64) {
	res.Ref = p.ref.stats()
	res.Ours = p.ours.stats()
	res.FinitePairs = p.pairs
	res.Mismatched = p.mis
	res.Introduced = p.intro
	if res.Numel > 0 {
		res.MismatchFraction = tensor.Float(float64(p.mis) / float64(res.Numel))
	}
	nan := tensor.Float(math.NaN())
	if p.pairs == 0 {
		res.MaxAbsDiff, res.MeanAbsDiff, res.MaxRelDiff = nan, nan, nan
		res.RMSE, res.NMSE, res.Cosine = nan, nan, nan
	} else {
		n := float64(p.pairs)
		res.MaxAbsDiff = tensor.Float(p.maxAbs)
		res.MeanAbsDiff = tensor.Float(p.sad.div(n))
		res.MaxRelDiff = tensor.Float(p.maxRel)
		mse := p.sdd.mant() / n // ·2^sdd.e
		res.RMSE = tensor.Float(sqrtScaled(mse, p.sdd.e))
		switch v := p.ref.m2.mant() / float64(p.ref.n); {
		case mse == 0:
			res.NMSE = 0
		case !(v > 0):
			res.NMSE = tensor.Float(math.Inf(1))
		default:
			res.NMSE = tensor.Float(math.Ldexp(mse/v, p.sdd.e-p.ref.m2.e))
		}
		res.Cosine = tensor.Float(cosine(p.dot, p.rr, p.oo, p.maxAbs == 0))
	}
	if p.worst >= 0 && p.maxAbs > 0 {
		res.Worst = &Element{Index: tensor.Unravel(p.worst, shape), Offset: p.worst, Ref: tensor.Float(p.worstR), Ours: tensor.Float(p.worstO)}
	}
	if p.first >= 0 {
		res.FirstMismatch = &Element{Index: tensor.Unravel(p.first, shape), Offset: p.first, Ref: tensor.Float(p.firstR), Ours: tensor.Float(p.firstO)}
	}
	if p.firstIntro >= 0 {
		res.FirstIntroduced = &Element{Index: tensor.Unravel(p.firstIntro, shape), Offset: p.firstIntro, Ref: tensor.Float(p.introR), Ours: tensor.Float(p.introO)}
	}
	res.Pass = verdict(res, p.nfMis)
}

// verdict applies the tolerance's check.
func verdict(res *Result, nfMis int64) bool {
	if res.Introduced > 0 {
		return false
	}
	t := res.Tolerance
	if t.Exact {
		return res.Mismatched == 0
	}
	switch t.Check {
	case CheckCosine:
		return nfMis == 0 && (res.FinitePairs == 0 || float64(res.Cosine) >= t.Threshold)
	case CheckNMSE:
		return nfMis == 0 && (res.FinitePairs == 0 || float64(res.NMSE) <= t.Threshold)
	}
	return res.Mismatched == 0
}

// cosine is dot / (‖ref‖‖ours‖), from the scaled sums. When every finite
// pair is equal it is exactly 1 (unless one side is all zeros), whatever
// the rounding of the three sums, which the kernels accumulate separately.
func cosine(dot, rr, oo xsum, equal bool) float64 {
	r, o := rr.mant(), oo.mant()
	switch {
	case r <= 0 && o <= 0:
		return 1
	case r <= 0 || o <= 0:
		return 0
	case equal:
		return 1
	}
	// √(r·2^re) = √r'·2^(re'/2) with re' even.
	nr, er := r, rr.e
	if er%2 != 0 {
		nr, er = 2*nr, er-1
	}
	no, eo := o, oo.e
	if eo%2 != 0 {
		no, eo = 2*no, eo-1
	}
	c := math.Ldexp(dot.mant()/(math.Sqrt(nr)*math.Sqrt(no)), dot.e-er/2-eo/2)
	return max(-1, min(1, c))
}

// scratch is one worker's buffers: the only memory a comparison holds,
// whatever the tensors' size.
type scratch struct {
	rawR, rawO []byte
	rb, ob     []float64
	slow       slowScratch
	mis        []bool
}

// flags is a block-sized buffer of mismatch flags.
func (s *scratch) flags(n int) []bool {
	if len(s.mis) < n {
		s.mis = make([]bool, blockElems)
	}
	return s.mis[:n]
}

// scan reduces n elements of ref and ours (same element count) in
// chunks, in parallel, merging the chunk partials in order.
// With shape set, it also tracks the bounding box of the mismatches.
func scan(ref, ours tensor.Tensor, n int64, shape []int64, tol *Tolerance, workers int, progress func(int64), pureGo bool) (partial, error) {
	total := newPartial()
	if n == 0 {
		return total, nil
	}
	rsz, osz := ref.DType.Size(), ours.DType.Size()
	rdec, odec := decoderFor(ref.DType), decoderFor(ours.DType)
	kp := kparams{atol: tol.Atol, rtol: tol.Rtol, equalNaN: tol.EqualNaN}
	if tol.Check == CheckMaxAbs {
		kp.rtol = 0
	}
	mode := modeTol
	switch {
	case tol.Exact && ref.DType == ours.DType:
		mode = modeRaw
	case tol.Exact:
		mode = modeBits
	case ref.DType == ours.DType && !ref.DType.IsFloat() && kp.atol == 0 && kp.rtol == 0 &&
		(tol.Check == CheckAllClose || tol.Check == CheckMaxAbs):
		// Exact integers: bytes, since 64-bit values need not fit a float64.
		mode = modeRaw
	}
	var rmem, omem []byte
	if s, ok := ref.Data.(ByteSource); ok {
		rmem = s.Bytes()
	}
	if s, ok := ours.Data.(ByteSource); ok {
		omem = s.Bytes()
	}
	ints := exactInts(ref.DType, ours.DType)
	nchunks := int((n + chunkElems - 1) / chunkElems)
	workers = max(1, min(workers, nchunks))
	scr := make([]scratch, workers)
	ks := kernelsFor(ref.DType, ours.DType)
	if pureGo {
		ks = kernels{}
	}

	var fl floors
	work := func(w, c int) (partial, error) {
		s := &scr[w]
		if s.rb == nil {
			s.rb = make([]float64, blockElems)
			s.ob = make([]float64, blockElems)
		}
		start := int64(c) * chunkElems
		cn := min(chunkElems, n-start)
		rbuf, err := readChunk(ref, "ref", n, rmem, &s.rawR, start*int64(rsz), cn*int64(rsz))
		if err != nil {
			return partial{}, err
		}
		obuf, err := readChunk(ours, "ours", n, omem, &s.rawO, start*int64(osz), cn*int64(osz))
		if err != nil {
			return partial{}, err
		}
		p := newPartial()
		var box *mismatchBox
		if len(shape) > 0 {
			box = newMismatchBox(shape, start, cn)
		}
		var b blockOut
		for off := int64(0); off < cn; off += blockElems {
			bn := int(min(blockElems, cn-off))
			in := blockIn{
				rblk: rbuf[off*int64(rsz) : (off+int64(bn))*int64(rsz)],
				oblk: obuf[off*int64(osz) : (off+int64(bn))*int64(osz)],
				r:    s.rb[:bn], o: s.ob[:bn],
				rdec: rdec, odec: odec,
				ints: ints, rdt: ref.DType, odt: ours.DType,
			}
			// The running maxima, raised to what any chunk has seen:
			// see floors.
			maxAbs, maxRel := fl.raise(p.maxAbs, p.maxRel)
			if !blockFinite(ks, &in, &kp, maxAbs, maxRel, &b, false) {
				in.decode()
				blockSlow(ks, in.r, in.o, &kp, maxAbs, maxRel, &b, &s.slow)
			}
			switch mode {
			case modeRaw:
				b.mis, b.first = rawDiff(in.rblk, in.oblk, rsz)
				b.nfMis = 0
			case modeBits:
				in.decode()
				b.mis, b.first = bitsDiff(in.r, in.o)
				b.nfMis = 0
			}
			if ints {
				in.decode()
				intBlock(&in, mode, &kp, maxAbs, maxRel, &b)
			}
			fl.update(&b)
			if b.worst >= 0 || b.first >= 0 || b.firstIntro >= 0 {
				in.decode()
			}
			p.addBlock(start+off, &b, in.r, in.o)
			if box != nil && b.mis > 0 && !box.full() {
				box.add(&in, mode, &kp, start+off, s.flags(bn))
			}
		}
		if box != nil {
			p.lo, p.hi = box.lo, box.hi
		}
		return p, nil
	}
	perChunk := int64(rsz + osz)
	err := runOrdered(nchunks, workers, work, func(c int, p partial) {
		total.merge(&p)
		if progress != nil {
			done := min(n, int64(c+1)*chunkElems)
			progress(done * perChunk)
		}
	})
	return total, err
}

// floors are the largest |d| and |d|/|ref| any block of a scan has
// located so far, shared by its workers, so that a chunk's blocks skip
// the rescans (locating the worst element, the relative-difference
// candidates) for maxima some other chunk already beats. Each floor is
// attained by an element, so it never exceeds the tensor's maximum:
//   - max |d|: a block whose max is below the floor holds no element of
//     the tensor's maximum, and a chunk that does hold one still locates
//     the first of them (ties with the floor are located). A chunk's
//     partial may then miss its own worst element, but only when it
//     cannot be the tensor's: the merged Worst is the same.
//   - max |d|/|ref|: a chunk's maximum becomes at least the floor, an
//     element's ratio, so the merged maximum is the same.
//
// The floors depend on scheduling, the results do not.
type floors struct{ abs, rel atomic.Uint64 }

// raise returns the running maxima of a chunk raised to the floors: the
// maxAbs (just below the floor, so ties are located) and maxRel blocks
// get.
func (f *floors) raise(maxAbs, maxRel float64) (float64, float64) {
	if a := math.Float64frombits(f.abs.Load()); a > 0 {
		maxAbs = max(maxAbs, math.Nextafter(a, 0))
	}
	return maxAbs, max(maxRel, math.Float64frombits(f.rel.Load()))
}

// update raises the floors to a block's located maxima. Non-negative
// float64 values order as their bits.
func (f *floors) update(b *blockOut) {
	if b.worst >= 0 {
		raiseBits(&f.abs, b.maxAbs)
	}
	raiseBits(&f.rel, b.maxRel)
}

func raiseBits(u *atomic.Uint64, v float64) {
	bits := math.Float64bits(v)
	for {
		old := u.Load()
		if v != v || bits <= old || u.CompareAndSwap(old, bits) {
			return
		}
	}
}

// readChunk reads size bytes at off of t's data: from mem in place when
// the data is in memory (mem is ByteSource.Bytes, or nil), else into *buf.
func readChunk(t tensor.Tensor, side string, n int64, mem []byte, buf *[]byte, off, size int64) ([]byte, error) {
	if mem == nil {
		if s, ok := t.Data.(ByteSource); ok {
			mem = s.Bytes()
		}
	}
	if mem != nil {
		return mem[off : off+size], nil
	}
	if int64(cap(*buf)) < size {
		*buf = make([]byte, chunkElems*int64(t.DType.Size()))
	}
	b := (*buf)[:size]
	k, err := t.Data.ReadAt(b, off)
	if k == len(b) {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return nil, fmt.Errorf("tensor %q: %s: shape %v %s needs %d bytes: reading at offset %d: %w",
		t.Name, side, t.Shape, t.DType, n*int64(t.DType.Size()), off+int64(k), err)
}
