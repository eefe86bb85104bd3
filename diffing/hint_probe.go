package diffing

import (
	"math"
	"slices"

	"github.com/refcmp/refcmp/safetensors"
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

type lowCount struct {
	over     int64   // pairs with |d| > one ulp of the format at ref
	maxRatio float64 // max |d| / ulp
	tolMis   int64   // mismatches under the format's default tolerance
}

// probePartial is the probe's reduction of a chunk (or a prefix).
type probePartial struct {
	hist     []int64 // [0] zero, [1+k-histMinDecade] decade k
	models   []modelCount
	lows     []lowCount
	needAtol float64 // smallest atol that passes at the current rtol
	needRtol float64 // smallest rtol that passes at the current atol
	mis      int64   // mismatches (as the main pass counts them)
	lo, hi   []int64 // bounding box of the mismatches, per axis
}

func newProbePartial(nm, nl, ndim int) probePartial {
	p := probePartial{
		hist:   make([]int64, histLen),
		models: make([]modelCount, nm),
		lows:   make([]lowCount, nl),
		lo:     make([]int64, ndim),
		hi:     make([]int64, ndim),
	}
	for i := range p.lo {
		p.lo[i] = math.MaxInt64
		p.hi[i] = -1
	}
	return p
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
		p.lows[i].tolMis += q.lows[i].tolMis
	}
	p.needAtol = max(p.needAtol, q.needAtol)
	p.needRtol = max(p.needRtol, q.needRtol)
	p.mis += q.mis
	for i := range p.lo {
		p.lo[i] = min(p.lo[i], q.lo[i])
		p.hi[i] = max(p.hi[i], q.hi[i])
	}
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
		out = append(out, HistBin{Lo: Float(pow10(k)), Hi: Float(pow10(k + 1)), Count: p.hist[i]})
	}
	return out
}

// precision is the significand width of a dtype (integers: exact, wide).
func precision(dt safetensors.DType) int {
	switch dt {
	case safetensors.F64:
		return 53
	case safetensors.F32:
		return 24
	case safetensors.F16:
		return 11
	case safetensors.BF16:
		return 8
	case safetensors.F8E4M3:
		return 4
	case safetensors.F8E5M2:
		return 3
	}
	return 64
}

// lowerFormats are the float formats narrower than both sides, finest
// first.
func lowerFormats(a, b safetensors.DType) []lowFormat {
	p := min(precision(a), precision(b))
	var out []lowFormat
	for _, dt := range []safetensors.DType{safetensors.F32, safetensors.F16, safetensors.BF16, safetensors.F8E4M3, safetensors.F8E5M2} {
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

// runProbe streams the pair once more.
func runProbe(ref, ours Tensor, res *Result, models []model, lows []lowFormat, workers int) (probePartial, error) {
	n := res.Numel
	shape := ref.Shape
	ndim := len(shape)
	total := newProbePartial(len(models), len(lows), ndim)
	if n == 0 {
		return total, nil
	}
	atol, rtol := elementTol(res)
	tol := res.Tolerance
	kp := kparams{atol: tol.Atol, rtol: tol.Rtol, equalNaN: tol.EqualNaN}
	if tol.Check == CheckMaxAbs {
		kp.rtol = 0
	}
	exact := tol.Exact
	rsz, osz := ref.DType.Size(), ours.DType.Size()
	rdec, odec := decoderFor(ref.DType), decoderFor(ours.DType)
	nchunks := int((n + chunkElems - 1) / chunkElems)
	workers = max(1, min(workers, nchunks))
	scr := make([]scratch, workers)
	dec := newDecades()
	work := func(w, c int) (probePartial, error) {
		s := &scr[w]
		if s.rb == nil {
			s.rb = make([]float64, blockElems)
			s.ob = make([]float64, blockElems)
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
		p := newProbePartial(len(models), len(lows), ndim)
		mis := make([]bool, blockElems)
		hist2 := make([]int64, histLen)
		for off := int64(0); off < cn; off += blockElems {
			bn := int(min(blockElems, cn-off))
			r, o := s.rb[:bn], s.ob[:bn]
			rblk := rbuf[off*int64(rsz) : (off+int64(bn))*int64(rsz)]
			oblk := obuf[off*int64(osz) : (off+int64(bn))*int64(osz)]
			rdec(r, rblk)
			odec(o, oblk)
			// Mismatches, as the main pass counts them, and their box.
			nm := int64(0)
			for i, x := range r {
				y := o[i]
				var m bool
				switch {
				case exact && rsz == osz && ref.DType == ours.DType:
					m = !bytesEqual(rblk[i*rsz:(i+1)*rsz], oblk[i*osz:(i+1)*osz])
				case exact:
					m = math.Float64bits(x) != math.Float64bits(y) && !(x != x && y != y)
				case x-x == 0 && y-y == 0:
					m = math.Abs(y-x) > kp.atol+kp.rtol*math.Abs(x)
				default:
					m = !(x == y || kp.equalNaN && x != x && y != y)
				}
				mis[i] = m
				nm += b2i(m)
			}
			if nm > 0 {
				p.mis += nm
				idx := unravel(start+off, shape)
				for i := 0; i < bn; i++ {
					if mis[i] {
						for a, v := range idx {
							if v < p.lo[a] {
								p.lo[a] = v
							}
							if v > p.hi[a] {
								p.hi[a] = v
							}
						}
					}
					for a := ndim - 1; a >= 0; a-- { // next index, C order
						idx[a]++
						if idx[a] < shape[a] {
							break
						}
						idx[a] = 0
					}
				}
			}
			probePairs(r, o, atol, rtol, dec, &p, hist2)
			for j := range lows {
				if p.lows[j].over == 0 {
					probeLow(r, o, &lows[j], &p.lows[j])
				}
			}
			for j := range models {
				probeModel(r, o, models[j], atol, rtol, &p.models[j])
			}
		}
		for i, c := range hist2 {
			p.hist[i] += c
		}
		return p, nil
	}
	err := runOrdered(nchunks, workers, work, func(_ int, p probePartial) { total.merge(&p) })
	return total, err
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

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

// probePairs adds the finite pairs' |d| histogram and needed tolerances.
// Odd elements count in a second histogram, so that runs of one decade do
// not wait on each other's increments.
func probePairs(r, o []float64, atol, rtol float64, dec *decades, p *probePartial, hist2 []int64) {
	o = o[:len(r)]
	needAtol, needRtol := p.needAtol, p.needRtol
	hists := [2][]int64{p.hist, hist2}
	for i, x := range r {
		hist := hists[i&1]
		y := o[i]
		if x-x != 0 || y-y != 0 {
			continue
		}
		ad := math.Abs(y - x)
		ax := math.Abs(x)
		// dec.binOf(ad), inlined.
		e := math.Float64bits(ad) >> 52 & 0x7ff
		bin := int(dec.bin[e]) + int(b2i(ad >= dec.thresh[e]))
		if e == 0 && ad != 0 {
			bin = 1 + decade(ad) - histMinDecade // subnormal
		}
		hist[bin]++
		if t := ad - rtol*ax; t > needAtol {
			needAtol = t
		}
		if ad > atol && ad-atol > needRtol*ax {
			needRtol = relDiff(ad-atol, ax)
		}
	}
	p.needAtol, p.needRtol = needAtol, needRtol
}

// probeLow checks the finite pairs against one ulp of a narrower format.
func probeLow(r, o []float64, lf *lowFormat, lc *lowCount) {
	o = o[:len(r)]
	maxRatio, over, tolMis := lc.maxRatio, lc.over, lc.tolMis
	pm1, emin, fatol, frtol := lf.f.p-1, lf.f.emin, lf.atol, lf.rtol
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
		tolMis += b2i(ad > fatol+frtol*math.Abs(x))
	}
	lc.maxRatio, lc.over, lc.tolMis = maxRatio, over, tolMis
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
			mis += b2i(e > atol+rtol*math.Abs(f))
		} else if !(f == y || f != f && y != y) {
			mis++
		}
	}
	mc.mis, mc.maxErr = mis, maxErr
}
