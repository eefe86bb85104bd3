package diffing

import (
	"math"
	"slices"
	"sync/atomic"

	"github.com/refcmp/refcmp/tensor"
)

// The probe pass runs only for failing pairs of the same shape: a second
// streaming pass (same chunks, same ordered merge, so deterministic) that
// collects what the hints need and the |d| histogram. Its memory is per
// worker and per pending chunk, independent of the tensor size.

// histMinDecade and histMaxDecade bound the decades of |d| a histogram can
// hold: every finite nonzero float64 lies in [1e-324, 1e309).
const (
	histMinDecade = -324
	histMaxDecade = 308
	histLen       = histMaxDecade - histMinDecade + 2 // + the zero bin
)

// decade is floor(log10(x)) for finite x > 0, exact at powers of ten.
func decade(x float64) int {
	f, e := math.Frexp(x) // math.Log10 is inexact for subnormals
	k := int(math.Floor(math.Log10(f) + float64(e)*math.Log10(2)))
	if k < 308 && x >= pow10(k+1) {
		k++
	}
	if x < pow10(k) {
		k--
	}
	return max(histMinDecade, min(histMaxDecade, k))
}

// decades bins |d| by decade quickly: for each binary exponent e (the
// top bits of a float64), the histogram bin of 2^e and the value from
// which the binade's numbers fall in the next decade (+Inf when the whole
// binade is in one decade). Bin 0 is zero.
type decades struct {
	bin    [2048]int16
	thresh [2048]float64
}

func newDecades() *decades {
	var d decades
	for e := 1; e < 2047; e++ {
		lo := math.Float64frombits(uint64(e) << 52)
		k := decade(lo)
		d.bin[e] = int16(1 + k - histMinDecade)
		d.thresh[e] = math.Inf(1)
		if next := pow10(k + 1); k < histMaxDecade && next < 2*lo {
			d.thresh[e] = next
		}
	}
	d.thresh[0] = math.Inf(1) // zero (subnormals are handled apart)
	// An infinite |d| (finite values whose difference overflows) goes to
	// the last decade: no |d| is >= NaN.
	d.bin[2047], d.thresh[2047] = int16(1+histMaxDecade-histMinDecade), math.NaN()
	return &d
}

// binOf is the histogram bin of a finite |d| >= 0.
func (d *decades) binOf(ad float64) int {
	e := math.Float64bits(ad) >> 52 & 0x7ff
	bin := int(d.bin[e]) + int(b2i(ad >= d.thresh[e]))
	if e == 0 && ad != 0 {
		bin = 1 + decade(ad) - histMinDecade // subnormal
	}
	return bin
}

// exp2 is 2^n for n in float64's normal exponent range.
func exp2(n int) float64 { return math.Float64frombits(uint64(n+1023) << 52) }

// pow10 is 10^k, also below math.Pow10's range (it returns 0 under 1e-323).
func pow10(k int) float64 {
	if k < -300 {
		return math.Pow10(k+300) * 1e-300
	}
	return math.Pow10(k)
}

// modelIdentity is the model ours ≈ ref, probed as the baseline the
// others must beat when they are judged at the dtypes' defaults.
const modelIdentity = "identity"

// model is a candidate explanation ours ≈ k·ref + c.
type model struct {
	kind  string // hint kind
	label string // what the summary says
	k, c  float64
}

// modelCount is how a model fares: elements it leaves mismatched, and
// its largest |ours - (k·ref + c)|.
type modelCount struct {
	mis    int64
	maxErr float64
}

// lowFormat is a lower-precision format tried as an explanation.
type lowFormat struct {
	f          floatFormat
	rtol, atol float64 // its default tolerance
}

// holds reports whether the finite x is one of the format's numbers,
// from its bits (what f.round(x) == x says, without the division):
// |x| within the largest finite value and its significand a multiple of
// the format's ulp at x, 2^(max(e, emin) - (p-1)).
func (lf *lowFormat) holds(x float64) bool {
	if x == 0 {
		return true
	}
	if math.Abs(x) > lf.f.maxFinite {
		return false
	}
	b := math.Float64bits(x)
	be := int(b >> 52 & 0x7ff)
	sig := b & (1<<52 - 1)
	e := be - 1023
	if be == 0 {
		e = -1022 // subnormal: no implicit bit
	} else {
		sig |= 1 << 52
	}
	// x = sig·2^(e-52); a multiple of 2^q when its low q-(e-52) bits are 0.
	sh := max(e, lf.f.emin) - (lf.f.p - 1) - (e - 52)
	if sh <= 0 {
		return true
	}
	return sh < 64 && sig&(1<<uint(sh)-1) == 0
}

type lowCount struct {
	over     int64   // pairs with |d| > one ulp of the format at ref
	maxRatio float64 // max |d| / ulp
	sumRatio float64 // Σ |d| / ulp (one rounding to nearest: mean 1/4)
	tolMis   int64   // mismatches under the format's default tolerance
	oursOff  int64   // ours values not representable in the format
	refOff   int64   // ref values not representable in the format
	// outRange: pairs whose ref is nonzero and outside the format's
	// normal range (below 2^emin, where its ulp is a fixed absolute step
	// that any tiny error fits, or beyond its largest finite value).
	outRange int64
}

// probePartial is the probe's reduction of a chunk (or a prefix).
type probePartial struct {
	hist   []int64 // [0] zero, [1+k-histMinDecade] decade k
	models []modelCount
	lows   []lowCount
	pairs  int64 // finite pairs counted
	elems  int64 // elements read
	vis    []chunkVisitor
}

func newProbePartial(nm, nl int) probePartial {
	return probePartial{
		hist:   make([]int64, histLen),
		models: make([]modelCount, nm),
		lows:   make([]lowCount, nl),
	}
}

func (p *probePartial) merge(q *probePartial) {
	for i, c := range q.hist {
		p.hist[i] += c
	}
	for i := range p.models {
		p.models[i].mis += q.models[i].mis
		p.models[i].maxErr = max(p.models[i].maxErr, q.models[i].maxErr)
	}
	for i := range p.lows {
		p.lows[i].over += q.lows[i].over
		p.lows[i].maxRatio = max(p.lows[i].maxRatio, q.lows[i].maxRatio)
		p.lows[i].sumRatio += q.lows[i].sumRatio
		p.lows[i].tolMis += q.lows[i].tolMis
		p.lows[i].oursOff += q.lows[i].oursOff
		p.lows[i].refOff += q.lows[i].refOff
		p.lows[i].outRange += q.lows[i].outRange
	}
	for i, v := range p.vis {
		v.merge(q.vis[i])
	}
	p.pairs += q.pairs
	p.elems += q.elems
}

// histogram turns the counts into bins from the lowest to the highest
// decade that occurs.
func (p *probePartial) histogram() []HistBin {
	var out []HistBin
	if p.hist[0] > 0 {
		out = append(out, HistBin{Lo: 0, Hi: 0, Count: p.hist[0]})
	}
	first, last := -1, -1
	for i := 1; i < len(p.hist); i++ {
		if p.hist[i] > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	for i := first; first >= 0 && i <= last; i++ {
		k := i - 1 + histMinDecade
		out = append(out, HistBin{Lo: tensor.Float(pow10(k)), Hi: tensor.Float(pow10(k + 1)), Count: p.hist[i]})
	}
	return out
}

// precision is the significand width of a dtype (integers: exact, wide).
func precision(dt tensor.DType) int {
	switch dt {
	case tensor.F64:
		return 53
	case tensor.F32:
		return 24
	case tensor.F16:
		return 11
	case tensor.BF16:
		return 8
	case tensor.F8E4M3:
		return 4
	case tensor.F8E5M2:
		return 3
	}
	return 64
}

// lowerFormats are the float formats narrower than both sides, finest
// first.
func lowerFormats(a, b tensor.DType) []lowFormat {
	p := min(precision(a), precision(b))
	var out []lowFormat
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.BF16, tensor.F8E4M3, tensor.F8E5M2} {
		if precision(dt) < p {
			f, _ := formatOf(dt)
			rtol, atol := dtypeTolerance(dt)
			out = append(out, lowFormat{f: f, rtol: rtol, atol: atol})
		}
	}
	return out
}

// elementTol is the element rule the hints judge by: the pair's, or with
// Exact (where any difference fails) the dtypes' defaults.
func elementTol(res *Result) (atol, rtol float64) {
	t := res.Tolerance
	if t.Exact {
		d := DefaultTolerance(res.RefDType, res.OursDType)
		return d.Atol, d.Rtol
	}
	if t.Check == CheckMaxAbs {
		return t.Atol, 0
	}
	return t.Atol, t.Rtol
}

// modelTol is the element rule a model ours ≈ k·ref + c is judged by:
// the pair's, with an rtol never tighter than its dtypes' default. The
// model is exact in float64 and ours is rounded to its dtype (a relative
// error), so under --atol 0 --rtol 0 every element would miss even the
// right model. The atol stays the pair's: the default's would swamp
// values far below it.
func modelTol(res *Result) (atol, rtol float64) {
	atol, rtol = elementTol(res)
	return atol, max(rtol, DefaultTolerance(res.RefDType, res.OursDType).Rtol)
}

// probeMaxChunks bounds the chunks the probe reads: larger tensors are
// probed on that many evenly spaced chunks (16M elements), and the hints
// and histogram say so.
const probeMaxChunks = 256

// modelMaxMis is the most mismatches a model may leave, among n probed
// elements, and still explain the pair: a tenth of the pair's mismatches
// (scaled to the probed share) and 0.1% of the elements.
func modelMaxMis(res *Result, n int64) int64 {
	mis := res.Mismatched
	if n < res.Numel {
		mis = int64(float64(mis) * float64(n) / float64(res.Numel))
	}
	return min(mis/10, n/1000)
}

// probeChunks lists the chunks the probe reads: all, or maxChunks evenly
// spaced ones.
func probeChunks(numel int64, maxChunks int) []int {
	nchunks := int((numel + chunkElems - 1) / chunkElems)
	cs := make([]int, 0, min(nchunks, maxChunks))
	if nchunks <= maxChunks {
		for c := range nchunks {
			cs = append(cs, c)
		}
		return cs
	}
	for k := range maxChunks {
		cs = append(cs, int(int64(k)*int64(nchunks)/int64(maxChunks)))
	}
	return cs
}

// probedElems is the number of elements the listed chunks hold.
func probedElems(numel int64, cs []int) int64 {
	var n int64
	for _, c := range cs {
		n += min(chunkElems, numel-int64(c)*chunkElems)
	}
	return n
}

// probeGroups bounds the jobs of the probe pass: each job reads a run of
// consecutive probed chunks with one fork of each visitor, so merging
// the visitors (O(sum of the dimensions) each) costs probeGroups merges,
// not one per chunk. The runs depend only on the probed chunks, so the
// results do not depend on the workers, nor on the visitors that read
// every chunk.
const probeGroups = 64

// probeJob is one run of chunks: first..end-1, of which those listed in
// probed (ascending) are probed.
type probeJob struct {
	first, end int
	probed     []int
}

// probeJobs splits the probed chunks into at most probeGroups runs; with
// every, each run also takes the unprobed chunks up to the next run.
func probeJobs(probed []int, nchunks int, every bool) []probeJob {
	ng := min(len(probed), probeGroups)
	jobs := make([]probeJob, ng)
	for g := range ng {
		lo, hi := g*len(probed)/ng, (g+1)*len(probed)/ng
		j := probeJob{first: probed[lo], end: probed[hi-1] + 1, probed: probed[lo:hi]}
		if every {
			if g == 0 {
				j.first = 0
			}
			if g == ng-1 {
				j.end = nchunks
			} else {
				j.end = probed[hi]
			}
		}
		jobs[g] = j
	}
	return jobs
}

// runProbe streams the pair (or probeMaxChunks chunks of it) once more:
// the |d| histogram, the narrower formats' ulp check, the models, and
// every decoded block of the probed chunks to the visitors vis; every
// block of every chunk to the visitors all (the pictures, which must
// cover the whole pair). Visitors are forked per run of chunks and
// merged in order.
func runProbe(ref, ours tensor.Tensor, res *Result, models []model, lows []lowFormat, vis, all []chunkVisitor, workers, maxChunks int) (probePartial, error) {
	n := res.Numel
	total := newProbePartial(len(models), len(lows))
	total.vis = append(slices.Clone(vis), all...)
	if n == 0 {
		return total, nil
	}
	atol, rtol := modelTol(res)
	rsz, osz := ref.DType.Size(), ours.DType.Size()
	rdec, odec := decoderFor(ref.DType), decoderFor(ours.DType)
	chunks := probeChunks(n, maxChunks)
	nchunks := int((n + chunkElems - 1) / chunkElems)
	jobs := probeJobs(chunks, nchunks, len(all) > 0)
	workers = max(1, min(workers, len(jobs)))
	scr := make([]scratch, workers)
	dec := newDecades()
	lowOut := make([]atomic.Bool, len(lows))
	modelMis := make([]atomic.Int64, len(models))
	modelLimit := modelMaxMis(res, probedElems(n, chunks))
	finite := allFinite(res)
	work := func(w, job int) (probePartial, error) {
		s := &scr[w]
		if s.rb == nil {
			s.rb = make([]float64, blockElems)
			s.ob = make([]float64, blockElems)
		}
		p := newProbePartial(len(models), len(lows))
		for _, v := range total.vis {
			p.vis = append(p.vis, v.fork())
		}
		pv, av := p.vis[:len(vis)], p.vis[len(vis):]
		var hists [4][]int64
		for k := range hists {
			hists[k] = make([]int64, histLen+1) // + a slot for non-finite pairs
		}
		jb := jobs[job]
		next := 0 // of jb.probed
		for c := jb.first; c < jb.end; c++ {
			probed := next < len(jb.probed) && jb.probed[next] == c
			if probed {
				next++
			} else if len(av) == 0 {
				continue
			}
			start := int64(c) * chunkElems
			cn := min(chunkElems, n-start)
			rbuf, err := readChunk(ref, "ref", n, nil, &s.rawR, start*int64(rsz), cn*int64(rsz))
			if err != nil {
				return probePartial{}, err
			}
			obuf, err := readChunk(ours, "ours", n, nil, &s.rawO, start*int64(osz), cn*int64(osz))
			if err != nil {
				return probePartial{}, err
			}
			if probed {
				p.elems += cn
			}
			for off := int64(0); off < cn; off += blockElems {
				bn := int(min(blockElems, cn-off))
				r, o := s.rb[:bn], s.ob[:bn]
				rdec(r, rbuf[off*int64(rsz):(off+int64(bn))*int64(rsz)])
				odec(o, obuf[off*int64(osz):(off+int64(bn))*int64(osz)])
				for _, v := range av {
					v.visit(start+off, r, o)
				}
				if !probed {
					continue
				}
				probePairs(r, o, dec, &hists, finite)
				for _, v := range pv {
					v.visit(start+off, r, o)
				}
				// Formats and models another chunk has ruled out are skipped:
				// they are not reported, so what they skip changes no output.
				for j := range lows {
					// Out when neither stored (ours off the format) nor
					// computed (a difference over one ulp) can hold.
					if (p.lows[j].over == 0 || p.lows[j].oursOff == 0) && !lowOut[j].Load() {
						probeLow(r, o, &lows[j], &p.lows[j], finite)
						if p.lows[j].over > 0 && p.lows[j].oursOff > 0 {
							lowOut[j].Store(true)
						}
					}
				}
				for j := range models {
					if models[j].kind != modelIdentity && modelMis[j].Load() > modelLimit {
						continue
					}
					before := p.models[j].mis
					probeModel(r, o, models[j], atol, rtol, &p.models[j])
					modelMis[j].Add(p.models[j].mis - before)
				}
			}
		}
		for k := range hists {
			for i, c := range hists[k][:histLen] {
				p.hist[i] += c
				p.pairs += c
			}
		}
		return p, nil
	}
	err := runOrdered(len(jobs), workers, work, func(_ int, p probePartial) { total.merge(&p) })
	return total, err
}

// probePairs adds the finite pairs' |d| to the histograms, by position
// mod 4 (so that runs of one decade do not wait on each other's
// increments); non-finite pairs go to the spare slot histLen. finite
// says the block has none. A subnormal |d| is first counted as zero
// (binade 0's bin), then moved by probeSubnormals: a call in the loop
// would cost every element its registers.
func probePairs(r, o []float64, dec *decades, hists *[4][]int64, finite bool) {
	o = o[:len(r)]
	// Two loops, each with few values live: the bins, then the counts.
	var bins [blockElems]int64
	b := bins[:len(r)]
	tb, th := &dec.bin, &dec.thresh
	var sub int64
	k := 0
	if probeAsm {
		k = len(r) &^ 3
		var flag uint64
		c := [16]uint64{}
		for l := range 4 {
			c[l], c[4+l], c[8+l], c[12+l] = 1<<63-1, 1023, 78913, 1-histMinDecade
		}
		binsAVX2(r[:k], o[:k], th, &c[0], b, &flag)
		sub = int64(flag)
	}
	for i := k; i < len(r); i++ {
		ad := math.Abs(o[i] - r[i])
		e := math.Float64bits(ad) >> 52 & 0x7ff
		b[i] = int64(tb[e]) + b2i(ad >= th[e])
		sub |= b2i(e == 0) & b2i(ad != 0)
	}
	if !finite {
		for i, x := range r {
			if y := o[i]; x-x != 0 || y-y != 0 {
				b[i] = histLen
			}
		}
	}
	h0, h1, h2, h3 := hists[0][:histLen+1], hists[1][:histLen+1], hists[2][:histLen+1], hists[3][:histLen+1]
	n4 := len(b) &^ 3
	for i := 0; i < n4; i += 4 {
		h0[b[i]]++
		h1[b[i+1]]++
		h2[b[i+2]]++
		h3[b[i+3]]++
	}
	for i := n4; i < len(b); i++ {
		h0[b[i]]++
	}
	if sub != 0 {
		probeSubnormals(r, o, h0)
	}
}

// probeSubnormals moves the finite pairs whose |d| is subnormal from the
// zero bin to their decade's.
func probeSubnormals(r, o []float64, h []int64) {
	for i, x := range r {
		y := o[i]
		ad := math.Abs(y - x)
		if x-x == 0 && y-y == 0 && ad != 0 && ad < 0x1p-1022 {
			h[0]--
			h[1+decade(ad)-histMinDecade]++
		}
	}
}

// probeLow checks the finite pairs against one ulp of a narrower format;
// finite says the block has no NaN or Inf. Once an ours value is off the
// format, the values are no longer looked at one by one (lowSums).
func probeLow(r, o []float64, lf *lowFormat, lc *lowCount, finite bool) {
	if finite && lc.oursOff > 0 {
		lowSums(r, o, lf, lc)
		return
	}
	o = o[:len(r)]
	maxRatio, over, tolMis, sum := lc.maxRatio, lc.over, lc.tolMis, lc.sumRatio
	oursOff, refOff, outRange := lc.oursOff, lc.refOff, lc.outRange
	pm1, emin, fatol, frtol := lf.f.p-1, lf.f.emin, lf.atol, lf.rtol
	minNormal, maxFinite := exp2(emin), lf.f.maxFinite
	for i, x := range r {
		y := o[i]
		if x-x != 0 || y-y != 0 {
			continue
		}
		ad := math.Abs(y - x)
		// |d| / ulp(x) in the format: ulp = 2^(max(e2, emin) - (p-1)).
		e2 := int(math.Float64bits(x)>>52&0x7ff) - 1023
		if e2 < emin {
			e2 = emin
		}
		ratio := ad * exp2(pm1-e2)
		if ratio > maxRatio {
			maxRatio = ratio
		}
		over += b2i(ratio > 1)
		sum += ratio
		tolMis += b2i(ad > fatol+frtol*math.Abs(x))
		outRange += b2i(x != 0 && (math.Abs(x) < minNormal || math.Abs(x) > maxFinite))
		// The counts off the format matter only while ours may be
		// stored in it (none off); past that they are not reported.
		if oursOff == 0 {
			oursOff += b2i(!lf.holds(y))
			refOff += b2i(!lf.holds(x))
		}
	}
	lc.maxRatio, lc.over, lc.tolMis, lc.sumRatio = maxRatio, over, tolMis, sum
	lc.oursOff, lc.refOff, lc.outRange = oursOff, refOff, outRange
}

// probeModel counts the elements a model ours ≈ k·ref + c leaves
// mismatched.
func probeModel(r, o []float64, m model, atol, rtol float64, mc *modelCount) {
	o = o[:len(r)]
	mis, maxErr := mc.mis, mc.maxErr
	for i, x := range r {
		y := o[i]
		f := m.k*x + m.c
		if f-f == 0 && y-y == 0 {
			e := math.Abs(y - f)
			if e > maxErr {
				maxErr = e
			}
			mis += b2i(e > allowance(atol, rtol, math.Abs(f)))
		} else if !(f == y || f != f && y != y) {
			mis++
		}
	}
	mc.mis, mc.maxErr = mis, maxErr
}

// shapeDims are the distinct dimensions > 1 of a shape, ascending.
func shapeDims(shape []int64) []int64 {
	var ds []int64
	for _, d := range shape {
		if d > 1 && !slices.Contains(ds, d) {
			ds = append(ds, d)
		}
	}
	slices.Sort(ds)
	return ds
}
