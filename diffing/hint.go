package diffing

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/tensor"
)

// TensorHint is one diagnosis of a failing pair of tensors. Kind is a
// stable identifier (one of the TensorHint* constants); Summary says it in
// one line; Evidence gives the numbers it rests on.
type TensorHint struct {
	Kind     string `json:"kind"`
	Summary  string `json:"summary"`
	Evidence string `json:"evidence"`
	// Look says what to look at in the port ("the bias of the layer that
	// writes this tensor"); empty when the hint names no cause.
	Look string `json:"look,omitempty"`
}

// Tensor hint kinds, in the order hints are listed.
const (
	TensorHintTransposed = "transposed" // ours is ref transposed (2-D)
	TensorHintPermuted   = "permuted"   // ours is ref with its axes permuted (channels-first vs -last)
	TensorHintReshaped   = "reshaped"   // same data in C order, other shape
	TensorHintResized    = "resized"    // ours matches ref on the common part of one axis (cropped or padded)
	TensorHintShape      = "shape"      // shapes are related but the data does not follow
	TensorHintShifted    = "shifted"    // ours is ref shifted by one along an axis
	TensorHintZeros      = "zeros"      // ours is all zeros
	TensorHintConstant   = "constant"   // ours is one value throughout
	TensorHintSignFlip   = "sign_flip"  // ours ≈ -ref
	TensorHintScaled     = "scaled"     // ours ≈ k × ref
	TensorHintOffset     = "offset"     // ours ≈ ref + c
	TensorHintRounding   = "rounding"   // every difference is within the rounding of a narrower dtype
	TensorHintConfined   = "confined"   // mismatches confined to a slice of one axis
	TensorHintTolerance  = "tolerance"  // the tolerance that would pass
	TensorHintNoise      = "noise"      // differences at the rounding-noise level of the compute dtype, no structure

	TensorHintReordered     = "reordered"      // ours holds ref's values in another order (reshape/permute, memory layout)
	TensorHintBand          = "band"           // mismatches on a diagonal band of the last two axes (a causal mask offset)
	TensorHintNormAxis      = "norm_axis"      // ours sums to 1 along another axis than ref (softmax over the wrong axis)
	TensorHintChannelOffset = "channel_offset" // ours - ref constant per index of an axis (a bias)
	TensorHintChannelAffine = "channel_affine" // ours ≈ a·ref + b per index of an axis (a norm weight, per-channel statistics)
	TensorHintNormStats     = "norm_stats"     // normalization statistics differ (eps, biased vs unbiased variance)
	TensorHintPosition      = "position"       // zero at index 0 of an axis, growing along it (RoPE, position ids)
	TensorHintBorder        = "border"         // mismatches on the border of the last two axes (padding)
	TensorHintElementwise   = "elementwise"    // the difference is a function of ref alone (an activation formula)
	TensorHintDropout       = "dropout"        // one side zeroed at random, the rest scaled by 1/(1-p) (dropout left on)
	TensorHintIndexPermuted = "index_permuted" // the indices of one axis in another order (RGB/BGR, head order, fused chunks)
	TensorHintNonFinite     = "nonfinite"      // ours is NaN/Inf where ref is 0, negative, or beyond a narrower format's range
	TensorHintUnexplained   = "unexplained"    // no known cause fits; the strongest structure found
)

// HistBin counts the finite pairs whose |ours - ref| lies in [Lo, Hi).
// The first bin may be [0, 0]: the exact matches. Bins are decades
// (Hi = 10·Lo), from the lowest to the highest that occurs.
type HistBin struct {
	Lo    tensor.Float `json:"lo"`
	Hi    tensor.Float `json:"hi"`
	Count int64        `json:"count"`
}

// g formats a number for hint text: shortest round-trip up to 4
// significant digits.
func g(x float64) string { return strconv.FormatFloat(x, 'g', 4, 64) }

// ceil2 rounds x > 0 up to two significant digits, so that a printed
// tolerance really passes.
func ceil2(x float64) float64 {
	if x <= 0 || x-x != 0 {
		return x
	}
	e := math.Pow(10, math.Floor(math.Log10(x))-1)
	return math.Ceil(x/e*(1-1e-12)) * e
}

func fmtIndex(idx []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range idx {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	b.WriteByte(']')
	return b.String()
}

func fmtPerm(p []int) string {
	s := make([]string, len(p))
	for i, v := range p {
		s[i] = strconv.Itoa(v)
	}
	return "(" + strings.Join(s, ", ") + ")"
}

// namedConst is a recognisable scale factor.
type namedConst struct {
	v    float64
	name string
}

// factorNames lists the constants a scale factor is matched against:
// simple ones first, then those built from the shape's dimensions, then
// common attention head sizes.
// plainFactors are the constants named without the shape.
var plainFactors = []namedConst{
	{1, "1"}, {0.5, "1/2"}, {2, "2"}, {math.Sqrt2, "sqrt(2)"}, {1 / math.Sqrt2, "1/sqrt(2)"},
}

func factorNames(shape []int64) []namedConst {
	cs := slices.Clone(plainFactors)
	dims := shapeDims(shape)
	for _, d := range dims {
		f := float64(d)
		cs = append(cs,
			namedConst{1 / math.Sqrt(f), fmt.Sprintf("1/sqrt(%d), %d a dimension of the shape", d, d)},
			namedConst{math.Sqrt(f), fmt.Sprintf("sqrt(%d), %d a dimension of the shape", d, d)})
	}
	for _, d := range dims {
		f := float64(d)
		cs = append(cs,
			namedConst{f / (f - 1), fmt.Sprintf("n/(n-1) with n = %d (unbiased vs biased variance)", d)},
			namedConst{(f - 1) / f, fmt.Sprintf("(n-1)/n with n = %d (biased vs unbiased variance)", d)},
			namedConst{math.Sqrt(f / (f - 1)), fmt.Sprintf("sqrt(n/(n-1)) with n = %d (unbiased vs biased std)", d)},
			namedConst{math.Sqrt((f - 1) / f), fmt.Sprintf("sqrt((n-1)/n) with n = %d (biased vs unbiased std)", d)})
	}
	for _, d := range dims {
		f := float64(d)
		cs = append(cs,
			namedConst{1 / f, fmt.Sprintf("1/%d, %d a dimension of the shape", d, d)},
			namedConst{f, fmt.Sprintf("%d, a dimension of the shape", d)})
	}
	for _, d := range []int64{16, 32, 64, 80, 96, 128, 160, 256} {
		if !slices.Contains(dims, d) {
			f := float64(d)
			cs = append(cs,
				namedConst{1 / math.Sqrt(f), fmt.Sprintf("1/sqrt(%d), a common attention head size", d)},
				namedConst{math.Sqrt(f), fmt.Sprintf("sqrt(%d), a common attention head size", d)})
		}
	}
	return cs
}

// nameFactor finds the named constant closest to k within 0.2%, sign
// included. Names of the same value are all given (1/8 is 1/8 with 8 a
// dimension, and 1/sqrt(64) with 64 a head size): which one the port
// got wrong is for the user to tell.
func nameFactor(k float64, shape []int64) (namedConst, bool) {
	best, bestErr := namedConst{}, 2e-3
	found := false
	cs := factorNames(shape)
	for _, c := range cs {
		if e := math.Abs(math.Abs(k)/c.v - 1); e < bestErr {
			best, bestErr, found = c, e, true
		}
	}
	names := []string{best.name}
	for _, c := range cs[len(plainFactors):] {
		if found && best.v != 1 && c.name != best.name && math.Abs(c.v/best.v-1) < 1e-12 {
			names = append(names, c.name)
		}
	}
	if len(names) > 1 && slices.ContainsFunc(cs[:len(plainFactors)], func(c namedConst) bool { return c.name == best.name }) {
		names = names[:1] // 1/2 is 1/2, not also 1/sqrt(4)
	}
	if found && k < 0 {
		for i := range names {
			names[i] = "-" + names[i]
		}
		best.v = -best.v
	}
	best.name = strings.Join(names, ", or ")
	return best, found
}

// diagnose adds hints and the histogram to a failing pair of the same
// shape. It reads the data once more (streaming: the histogram, the
// scale/offset/rounding checks and the per-axis reductions the structure
// detectors read) and samples positions for the remappings; memory stays
// bounded. The first hint is the primary diagnosis, the rest are
// alternatives; a pair at rounding-noise level with no structure gets the
// "noise" hint and the tolerance that passes, and nothing else.
func diagnose(ref, ours tensor.Tensor, res *Result, p *partial, workers int, pictures bool) error {
	hints := []TensorHint{}
	atol, rtol := elementTol(res)
	numel := res.Numel
	oursConst := res.Numel > 1 && res.Ours.NaN == 0 && res.Ours.Inf == 0 && res.Ours.Min == res.Ours.Max

	// Candidate models ours ≈ k·ref + c, fitted from the first pass.
	var models []model
	// k from the scaled sums: Σ ref² of values near 1e-170 underflows.
	if !oursConst && p.pairs > 0 && p.rr.mant() > 0 {
		k := ratio(p.dot, p.rr)
		cos := float64(res.Cosine)
		if k-k == 0 && k != 0 && math.Abs(k-1) > max(1e-4, 10*rtol) && math.Abs(cos) > 0.99 {
			if c, ok := nameFactor(k, ref.Shape); ok && c.v != 1 {
				kind := TensorHintScaled
				if c.v == -1 {
					kind = TensorHintSignFlip
				}
				models = append(models, model{kind: kind, label: c.name, k: c.v})
			}
			models = append(models, model{kind: TensorHintScaled, label: "the least-squares factor", k: k})
		}
	}
	if !oursConst && p.ref.n > 0 && p.ours.n > 0 {
		c := p.ours.sum.sum()/float64(p.ours.n) - p.ref.sum.sum()/float64(p.ref.n)
		if c-c == 0 && math.Abs(c) > atol {
			models = append(models, model{kind: TensorHintOffset, label: "mean(ours) - mean(ref)", k: 1, c: c})
		}
	}
	// Under a tolerance tighter than the dtypes' defaults the models are
	// judged at the defaults (modelTol); then the identity, judged the
	// same way, is what a model must beat: near-noise pairs match it too.
	identity := -1
	if ma, mr := modelTol(res); len(models) > 0 && (ma != atol || mr != rtol) {
		identity = len(models)
		models = append(models, model{kind: modelIdentity, k: 1})
	}
	// Narrower formats that could explain the differences (checked by the
	// probe: stored, ours's values in the format; computed, the
	// differences the format's rounding leaves).
	var lows []lowFormat
	if p.pairs > 0 {
		lows = lowerFormats(res.RefDType, res.OursDType)
	}
	ax := newAxisStats(ref.Shape, atol, rtol)
	ax.finite = allFinite(res)
	probeVis := []chunkVisitor{ax}
	var nonfinite *nonfiniteCounts
	if res.Introduced > 0 {
		nonfinite = &nonfiniteCounts{}
		probeVis = append(probeVis, nonfinite)
	}
	// The pictures, when wanted, ride on the same pass, over every chunk.
	var all []chunkVisitor
	var pic *pictureVisitor
	if pictures {
		pic = newPictureVisitor(ref, ours, res)
		all = append(all, pic)
	}
	pr, err := runProbe(ref, ours, res, models, lows, probeVis, all, workers, probeMaxChunks)
	if err != nil {
		return err
	}
	if pic != nil {
		pc := pic.picture(ref.Name)
		res.Picture = &pc
	}
	ax.flush()
	if la := ax.longAxes(); len(la) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf(
			"the per-index structure checks (bias, scale, position, band) skip axes longer than %d: %s",
			axisMaxIndexed, fmtAxes(ref.Shape, la)))
	}
	res.Histogram = pr.histogram()
	// What the probe's evidence covers.
	over := fmt.Sprintf("%d elements", numel)
	if pr.elems < numel {
		over = fmt.Sprintf("%d sampled elements (of %d)", pr.elems, numel)
		res.Notes = append(res.Notes, fmt.Sprintf(
			"the |diff| histogram and the scale, offset, rounding and structure checks cover %d of %d elements (%d evenly spaced chunks)",
			pr.elems, numel, probeMaxChunks))
	}
	// Mismatches among the probed elements, when the model is left out.
	probedMis := res.Mismatched
	if pr.elems < numel {
		probedMis = int64(float64(res.Mismatched) * float64(pr.elems) / float64(numel))
	}

	// Remappings, checked on sampled positions; the first that fits wins.
	remap, err := remapHints(ref, ours, res, atol, rtol)
	if err != nil {
		return err
	}
	hints = append(hints, remap...)

	if oursConst {
		v := float64(res.Ours.Min)
		ev := fmt.Sprintf("ours min = max = %s over %d elements; ref min %s, max %s, std %s",
			g(v), numel, g(float64(res.Ref.Min)), g(float64(res.Ref.Max)), g(float64(res.Ref.Std)))
		if v == 0 {
			hints = append(hints, TensorHint{Kind: TensorHintZeros, Summary: "ours is all zeros", Evidence: ev,
				Look: "the code that should write this tensor: it never ran, or wrote another buffer"})
		} else {
			hints = append(hints, TensorHint{Kind: TensorHintConstant, Summary: "ours is constant " + g(v), Evidence: ev,
				Look: "the code that writes this tensor: a fill, or a broadcast of one element"})
		}
	}

	// The first model that explains the pair: it leaves at most a tenth of
	// the mismatches and at most 0.1% of the elements.
	maxMis := modelMaxMis(res, pr.elems)
	if identity >= 0 {
		// A pair the identity already fits at the defaults (noise under a
		// zero tolerance) has no model to name.
		maxMis = -1
		if base := pr.models[identity].mis; base >= 16 {
			maxMis = min(base/10, pr.elems/1000)
		}
	}
	for i, m := range models {
		mc := pr.models[i]
		if m.kind == modelIdentity || mc.mis > maxMis {
			continue
		}
		asIs := fmt.Sprintf("%d as is", res.Mismatched)
		if pr.elems < numel {
			asIs = fmt.Sprintf("about %d as is", probedMis)
		}
		h := TensorHint{Kind: m.kind}
		switch m.kind {
		case TensorHintOffset:
			h.Summary = fmt.Sprintf("ours ≈ ref + %s", g(m.c))
			h.Evidence = fmt.Sprintf("c = mean(ours) - mean(ref) = %s; against ref + c, %d of %s mismatch (%s), max |ours - ref - c| = %s",
				g(m.c), mc.mis, over, asIs, g(mc.maxErr))
			h.Look = "a scalar bias or offset added (or not) to the whole tensor"
		default:
			kfit := ratio(p.dot, p.rr)
			if m.label == "the least-squares factor" {
				h.Summary = fmt.Sprintf("ours ≈ %s × ref", g(m.k))
			} else if m.kind == TensorHintSignFlip {
				h.Summary = "ours ≈ -ref (sign flipped)"
			} else {
				h.Summary = fmt.Sprintf("ours ≈ %s × ref (%s)", g(m.k), m.label)
			}
			h.Evidence = fmt.Sprintf("least-squares k = %.7g (cosine %.7f); against %s × ref, %d of %s mismatch (%s), max error %s",
				kfit, float64(res.Cosine), g(m.k), mc.mis, over, asIs, g(mc.maxErr))
			h.Look = "a scale constant of the op that writes this tensor (e.g. attention's 1/sqrt(head_dim), a norm's n vs n-1)"
			if m.kind == TensorHintSignFlip {
				h.Look = "a sign convention: a subtraction written the other way, a negated weight"
			}
		}
		if ma, mr := modelTol(res); ma != atol || mr != rtol {
			h.Evidence += fmt.Sprintf(" (the model judged at atol %s, rtol %s, the dtypes' default rtol: it is exact in float64, ours is rounded)", g(ma), g(mr))
		}
		hints = append(hints, h)
		break
	}

	if h, ok := roundingHint(res, p, lows, pr, over, numel); ok {
		hints = append(hints, h)
	}

	// Structure detectors, unless an exact explanation is already found.
	exact := slices.ContainsFunc(hints, func(h TensorHint) bool { return h.Kind != TensorHintRounding })
	nl := measureNoise(res, p)
	var found []finding
	if !exact {
		in := &diagInput{ref: ref, ours: ours, res: res, p: p, ax: ax,
			rr: newElemReader(ref), or: newElemReader(ours), atol: atol, rtol: rtol, sampled: pr.elems < numel,
			noise: nl.noise, nonfinite: nonfinite}
		for _, d := range structureDetectors() {
			if d.sampling && slices.ContainsFunc(found, func(f finding) bool { return !f.weak }) {
				continue
			}
			fs, err := runDetector(d.run, in)
			if err != nil {
				return err
			}
			found = append(found, fs...)
		}
	}
	// The fitted models read the finite pairs only: where ours also holds
	// NaN/Inf that no detector named, a fit says so.
	if res.Introduced > 0 && !slices.ContainsFunc(found, func(f finding) bool { return f.hint.Kind == TensorHintNonFinite }) {
		for i := range found {
			switch found[i].hint.Kind {
			case TensorHintChannelOffset, TensorHintChannelAffine, TensorHintNormStats, TensorHintElementwise, TensorHintPosition:
				found[i].hint.Summary += fmt.Sprintf(" (fitted on the finite pairs; not explained by it: %s in ours where ref is finite)",
					plural(int(res.Introduced), "NaN/Inf", "NaN/Inf"))
			}
		}
	}
	strong := slices.ContainsFunc(found, func(f finding) bool { return !f.weak })
	for _, f := range found {
		if !f.weak || !strong && len(hints) == 0 {
			hints = append(hints, f.hint)
		}
	}

	if len(hints) == 0 && nl.noise {
		hints = append(hints, nl.hint(res))
		if th, ok := toleranceHint(res, p); ok {
			hints = append(hints, th)
		}
	} else if len(hints) == 0 {
		hints = append(hints, unexplainedHint(res, ax, nl, p))
	}
	res.Hints = hints
	return nil
}

// runDetector runs one detector, turning a read error (recorded by the
// samplers) into the pair's error.
func runDetector(d detector, in *diagInput) ([]finding, error) {
	in.rr.err, in.or.err = nil, nil
	fs := d(in)
	if in.rr.err != nil {
		return nil, in.rr.err
	}
	if in.or.err != nil {
		return nil, in.or.err
	}
	return fs, nil
}

// toleranceHint is the tolerance that would pass a noise-level pair.
func toleranceHint(res *Result, p *partial) (TensorHint, bool) {
	if p.nfMis != 0 || res.Tolerance.Exact || p.pairs == 0 || res.Introduced != 0 ||
		(res.Tolerance.Check != CheckAllClose && res.Tolerance.Check != CheckMaxAbs) {
		return TensorHint{}, false
	}
	// max|d| passes as atol whatever rtol, max|d|/|ref| as rtol
	// whatever atol: each is the least that passes with the other at 0.
	parts := []string{fmt.Sprintf("--atol %s", g(ceil2(p.maxAbs)))}
	if nr := ceil2(p.maxRel); nr-nr == 0 && res.Tolerance.Check == CheckAllClose {
		parts = append(parts, fmt.Sprintf("--rtol %s", g(nr)))
	}
	return TensorHint{
		Kind:     TensorHintTolerance,
		Summary:  "would pass with " + strings.Join(parts, " or ") + " (it is noise: loosening the check here hides no bug)",
		Evidence: fmt.Sprintf("max |d| = %s; max |d|/|ref| = %s", g(p.maxAbs), g(p.maxRel)),
	}, true
}

// roundingHint names a narrower format when the pair shows its rounding:
// stored (every ours value is representable in the format, ref's are
// not) or computed (every difference within one ulp of the format and
// their mean near a quarter ulp, as rounding to nearest leaves). A format
// whose ulp merely covers the differences is not enough: the coarsest
// formats cover every small error.
func roundingHint(res *Result, p *partial, lows []lowFormat, pr probePartial, over string, numel int64) (TensorHint, bool) {
	if p.nfMis != 0 || p.pairs == 0 || pr.pairs == 0 {
		return TensorHint{}, false
	}
	// Stored: the coarsest format holding every ours value, when ref's
	// values are not all in it.
	// A format is named only where its rounding is what the values show:
	// at most a tenth of the pairs outside its normal range (there its ulp
	// is a fixed step that any tiny error, e.g. a sign flip of values near
	// 1e-170, fits).
	inRange := func(lc lowCount) bool { return 10*lc.outRange <= pr.pairs }
	pick := -1
	for i := range lows {
		if lc := pr.lows[i]; lc.oursOff == 0 && lc.refOff > 0 && inRange(lc) {
			pick = i
		}
	}
	stored := pick >= 0
	if !stored {
		// Computed: the finest format whose rounding the differences
		// fill, when they look like rounding at all (roundingLike).
		like := roundingLike(p)
		for i := range lows {
			lc := pr.lows[i]
			mean := lc.sumRatio / float64(pr.pairs)
			if like && lc.maxRatio <= 1 && lc.maxRatio >= roundMinMax(pr) && mean >= roundMinMean && mean <= roundMaxMean && inRange(lc) {
				pick = i
				break
			}
		}
	}
	if pick < 0 {
		return TensorHint{}, false
	}
	lf, lc := lows[pick], pr.lows[pick]
	name := lf.f.dtype.String()
	mean := lc.sumRatio / float64(pr.pairs)
	ev := fmt.Sprintf("max |ours - ref| / ulp_%s(ref) = %s, mean %s (one rounding to nearest: 0.25) over %s", name, g(lc.maxRatio), g(mean), over)
	summary := fmt.Sprintf("the differences are %s rounding: ours looks computed in %s", name, name)
	if stored {
		ev = fmt.Sprintf("every ours value is exactly representable in %s, %d of the ref values are not; ", name, lc.refOff) + ev
		summary = fmt.Sprintf("ours holds %s values: it looks computed or stored in %s", name, name)
	}
	ev += fmt.Sprintf("; under %s's default tolerance (rtol %s, atol %s) %d of them mismatch", name, g(lf.rtol), g(lf.atol), lc.tolMis)
	if lc.tolMis == 0 {
		ev += ": it passes"
	}
	if pr.elems < numel {
		ev += " (sampled: the rest unchecked)"
	}
	return TensorHint{Kind: TensorHintRounding, Summary: summary, Evidence: ev,
		Look: fmt.Sprintf("a cast to %s, or an op run in %s (autocast, a half-precision kernel)", name, name)}, true
}

// The mean |d|/ulp that one or a few roundings to nearest leave: a single
// rounding gives 1/4, errors much smaller than an ulp are not its rounding.
const (
	roundMinMean = 0.125
	roundMaxMean = 0.5
)

// roundingLike reports whether the differences can be rounding to
// nearest at all: its error is independent of the value, so a single
// factor k in ours ≈ k·ref explains almost none of Σ d² (its expected
// share is about Σ ref⁴/(Σ ref²)², a few over the number of elements);
// a scale error of any size, or one per row or channel, puts nearly
// all of Σ d² there. Rounding is declined when that share exceeds
// roundMaxScaleShare.
func roundingLike(p *partial) bool {
	dr := ratio(p.dot, p.rr) - 1 // Σ d·ref / Σ ref²
	dd := ratio(p.sdd, p.rr)     // Σ d² / Σ ref²
	if dd == 0 || dr-dr != 0 || dd-dd != 0 {
		return true
	}
	return dr*dr/dd <= roundMaxScaleShare
}

// roundMaxScaleShare is the largest share of Σ d² that one factor of ref
// may explain in rounding: rounding noise leaves about 1/n of it there.
const roundMaxScaleShare = 0.25

// roundMinMax is the least max |d|/ulp that rounding to nearest leaves on
// the pair's nonzero differences: they are spread evenly over [0, 1/2]
// ulp, so with m of them the max stays below 0.4 with probability 0.8^m
// (under 1e-6 for m >= 64); with fewer, no floor.
func roundMinMax(pr probePartial) float64 {
	if pr.pairs-pr.hist[0] >= 64 {
		return 0.4
	}
	return 0
}

// confinedHint reports mismatches confined to a slice of one axis: the
// axis whose bounding-box range is narrowest relative to its length,
// when that range covers at most half of the axis (mismatches spread
// over most of an axis say nothing about where the bug is).
func confinedHint(shape []int64, pr *partial) (TensorHint, bool) {
	if pr.mis < 2 || len(shape) == 0 || pr.lo == nil {
		return TensorHint{}, false
	}
	best, bestFrac := -1, 1.0
	vol := 1.0
	for a, d := range shape {
		w := pr.hi[a] - pr.lo[a] + 1
		vol *= float64(w)
		if d > 1 && 2*w <= d { // at most half the axis: a real confinement
			if f := float64(w) / float64(d); f < bestFrac {
				best, bestFrac = a, f
			}
		}
	}
	if best < 0 {
		return TensorHint{}, false
	}
	lo, hi, d := pr.lo[best], pr.hi[best], shape[best]
	var where string
	if lo == hi {
		where = fmt.Sprintf("index %d of axis %d (size %d)", lo, best, d)
	} else {
		where = fmt.Sprintf("indices %d..%d of axis %d (size %d)", lo, hi, best, d)
	}
	box := make([]string, len(shape))
	for a := range shape {
		box[a] = fmt.Sprintf("%d..%d", pr.lo[a], pr.hi[a])
	}
	return TensorHint{
		Kind:    TensorHintConfined,
		Summary: fmt.Sprintf("all %d mismatches lie in %s", pr.mis, where),
		Evidence: fmt.Sprintf("bounding box of the mismatches [%s]; %d of its %.0f elements mismatch",
			strings.Join(box, ", "), pr.mis, vol),
	}, true
}

// permName names a permutation of axes: ours = ref.permute(p).
func permName(p []int) string {
	n := len(p)
	toLast := []int{0}
	toFirst := []int{0, n - 1}
	for i := 2; i < n; i++ {
		toLast = append(toLast, i)
	}
	toLast = append(toLast, 1)
	for i := 1; i < n-1; i++ {
		toFirst = append(toFirst, i)
	}
	switch {
	case n >= 3 && slices.Equal(p, toLast):
		return "channels-first (ref) vs channels-last (ours)"
	case n >= 3 && slices.Equal(p, toFirst):
		return "channels-last (ref) vs channels-first (ours)"
	case n == 3 && slices.Equal(p, []int{1, 2, 0}):
		return "channels-first (ref, CHW) vs channels-last (ours, HWC)"
	case n == 3 && slices.Equal(p, []int{2, 0, 1}):
		return "channels-last (ref, HWC) vs channels-first (ours, CHW)"
	}
	return ""
}

// maxRemaps bounds the remappings tried per pair.
const maxRemaps = 48

// remapMinFrac is the share of sampled positions a remapping must match
// to explain a same-shape pair.
const remapMinFrac = 0.99

// remapHints tries the index remappings of a same-shape failing pair:
// transpose (2-D), shape-preserving axis permutations, shifts by one along
// each axis and in flat order. Only a remapping that matches at least 99%
// of the sampled positions, where the plain comparison matches at most
// half of them, is reported.
func remapHints(ref, ours tensor.Tensor, res *Result, atol, rtol float64) ([]TensorHint, error) {
	shape := ref.Shape
	nd := len(shape)
	if res.Numel < 2 || nd == 0 {
		return nil, nil
	}
	rr, or := newElemReader(ref), newElemReader(ours)
	eqNaN := res.Tolerance.EqualNaN
	tried := 0
	try := func(f func(oi, ri []int64) bool) (sampleCheck, bool, error) {
		tried++
		sc, err := checkRemap(rr, or, shape, shape, atol, rtol, eqNaN, true, remapMinFrac, f)
		if err != nil {
			return sc, false, err
		}
		ok := sc.checked >= min(16, int(res.Numel)-1) && sc.frac() >= remapMinFrac && float64(sc.idMatched) <= 0.5*float64(sc.checked)
		return sc, ok, nil
	}
	evidence := func(sc sampleCheck, what string) string {
		return fmt.Sprintf("%d of %d sampled positions match %s (%d match without it)", sc.matched, sc.checked, what, sc.idMatched)
	}

	// Axis permutations that keep the shape (2-D: the transpose).
	if nd <= 6 {
		var out []TensorHint
		var ferr error
		permutations(nd, func(p []int) bool {
			for i := range p {
				if shape[p[i]] != shape[i] {
					return true
				}
			}
			if tried >= maxRemaps {
				return false
			}
			perm := slices.Clone(p)
			sc, ok, err := try(permRemap(perm))
			if err != nil {
				ferr = err
				return false
			}
			if ok {
				out = append(out, permHint(perm, sc, evidence))
				return false
			}
			return true
		})
		if ferr != nil || len(out) > 0 {
			return out, ferr
		}
	}

	// Shifts by one along each axis, then in flat order.
	for a := 0; a < nd; a++ {
		if shape[a] < 2 {
			continue
		}
		for _, s := range []int64{1, -1} {
			sc, ok, err := try(func(oi, ri []int64) bool {
				copy(ri, oi)
				ri[a] = oi[a] - s
				return ri[a] >= 0 && ri[a] < shape[a]
			})
			if err != nil {
				return nil, err
			}
			if ok {
				rel := fmt.Sprintf("ours[…, i, …] ≈ ref[…, i%+d, …] along axis %d", -s, a)
				return []TensorHint{{
					Kind:     TensorHintShifted,
					Summary:  fmt.Sprintf("ours is ref shifted by %+d along axis %d", s, a),
					Evidence: evidence(sc, rel),
				}}, nil
			}
		}
	}
	if nd >= 2 {
		for _, s := range []int64{1, -1} {
			sc, ok, err := try(func(oi, ri []int64) bool {
				f := ravel(oi, shape) - s
				if f < 0 || f >= res.Numel {
					return false
				}
				copy(ri, tensor.Unravel(f, shape))
				return true
			})
			if err != nil {
				return nil, err
			}
			if ok {
				return []TensorHint{{
					Kind:     TensorHintShifted,
					Summary:  fmt.Sprintf("ours is ref shifted by %+d element in flat (C) order", s),
					Evidence: evidence(sc, fmt.Sprintf("ours.flat[j] ≈ ref.flat[j%+d]", -s)),
				}}, nil
			}
		}
	}
	return nil, nil
}

func permHint(p []int, sc sampleCheck, evidence func(sampleCheck, string) string) TensorHint {
	if len(p) == 2 {
		return TensorHint{Kind: TensorHintTransposed, Summary: "ours is ref transposed",
			Evidence: evidence(sc, "ours[i, j] ≈ ref[j, i]")}
	}
	sum := "ours is ref with axes permuted " + fmtPerm(p)
	if n := permName(p); n != "" {
		sum += ": " + n
	}
	return TensorHint{Kind: TensorHintPermuted, Summary: sum,
		Evidence: evidence(sc, "ref.permute"+fmtPerm(p))}
}

// permRemap maps an index of ours to ref's when ours' axis i is ref's
// axis perm[i].
func permRemap(perm []int) func(oi, ri []int64) bool {
	return func(oi, ri []int64) bool {
		for i, a := range perm {
			ri[a] = oi[i]
		}
		return true
	}
}

// shapeHints explains a shape mismatch from the shapes and, where the
// element counts allow, sampled data: a transpose or axis permutation, a
// reshape of the same data, or a crop/pad along one axis.
func shapeHints(ref, ours tensor.Tensor, res *Result) ([]TensorHint, error) {
	rs, os := ref.Shape, ours.Shape
	rn, _ := tensor.Numel(rs)
	on, _ := tensor.Numel(os)
	if rn == 0 || on == 0 {
		return nil, nil
	}
	atol, rtol := elementTol(res)
	rr, or := newElemReader(ref), newElemReader(ours)
	eqNaN := res.Tolerance.EqualNaN
	good := func(sc sampleCheck) bool { return sc.checked > 0 && sc.frac() >= 0.99 }
	ev := func(sc sampleCheck, what string) string {
		return fmt.Sprintf("%d of %d sampled positions match %s", sc.matched, sc.checked, what)
	}
	var hints []TensorHint
	if rn == on {
		// Permutations of the axes that turn ref's shape into ours.
		var permMiss []int
		var permSC sampleCheck
		if len(rs) == len(os) && len(rs) <= 6 {
			var found []TensorHint
			var ferr error
			tried := 0
			permutations(len(rs), func(p []int) bool {
				for i := range p {
					if rs[p[i]] != os[i] {
						return true
					}
				}
				if tried++; tried > maxRemaps {
					return false
				}
				perm := slices.Clone(p)
				sc, err := checkRemap(rr, or, os, rs, atol, rtol, eqNaN, false, 0, permRemap(perm))
				if err != nil {
					ferr = err
					return false
				}
				if good(sc) {
					found = append(found, permHint(perm, sc, ev))
					return false
				}
				if permMiss == nil {
					permMiss, permSC = perm, sc
				}
				return true
			})
			if ferr != nil {
				return nil, ferr
			}
			if len(found) > 0 {
				return found, nil
			}
		}
		// The same data in C order.
		sc, err := checkRemap(rr, or, os, rs, atol, rtol, eqNaN, false, 0, func(oi, ri []int64) bool {
			copy(ri, tensor.Unravel(ravel(oi, os), rs))
			return true
		})
		if err != nil {
			return nil, err
		}
		if good(sc) {
			sum := fmt.Sprintf("same data in C order, reshaped from %s to %s", fmtIndex(rs), fmtIndex(os))
			if slices.Equal(squeeze(rs), squeeze(os)) {
				sum += " (only size-1 axes differ)"
			}
			return []TensorHint{{Kind: TensorHintReshaped, Summary: sum, Evidence: ev(sc, "ours.flat[j] ≈ ref.flat[j]")}}, nil
		}
		if permMiss != nil {
			what := "a transpose"
			if len(permMiss) > 2 {
				what = "an axis permutation " + fmtPerm(permMiss)
			}
			hints = append(hints, TensorHint{Kind: TensorHintShape,
				Summary:  fmt.Sprintf("ours' shape is %s of ref's, but the data does not follow it", what),
				Evidence: fmt.Sprintf("%d of %d sampled positions match the permuted ref; %d of %d match a plain reshape", permSC.matched, permSC.checked, sc.matched, sc.checked)})
		}
		return hints, nil
	}
	// One or two axes differ (a crop or pad of one axis, or of the two
	// spatial axes: a pooling's ceil_mode, a transposed conv's
	// output_padding): does ours agree with ref where both have data?
	if len(rs) == len(os) {
		var axes []int
		for a := range rs {
			if rs[a] != os[a] {
				axes = append(axes, a)
			}
		}
		if len(axes) == 0 || len(axes) > 2 {
			return hints, nil
		}
		sc, err := checkRemap(rr, or, os, rs, atol, rtol, eqNaN, false, 0, func(oi, ri []int64) bool {
			copy(ri, oi)
			for _, a := range axes {
				if oi[a] >= rs[a] {
					return false
				}
			}
			return true
		})
		if err != nil {
			return nil, err
		}
		if good(sc) {
			var hows, ranges []string
			for _, a := range axes {
				how := "cropped"
				if os[a] > rs[a] {
					how = "padded (or ref cropped)"
				}
				hows = append(hows, fmt.Sprintf("%s along axis %d (%d vs %d)", how, a, os[a], rs[a]))
				ranges = append(ranges, fmt.Sprintf("0..%d of axis %d", min(rs[a], os[a])-1, a))
			}
			sum := fmt.Sprintf("ours is ref %s; the common part matches", strings.Join(hows, " and "))
			if len(axes) == 2 {
				sum += " (two spatial axes one longer or shorter: a pooling's ceil_mode, a transposed conv's output_padding, or padding kept/dropped)"
			}
			return []TensorHint{{Kind: TensorHintResized, Summary: sum,
				Evidence: ev(sc, "ref on indices "+strings.Join(ranges, ", "))}}, nil
		}
	}
	return hints, nil
}

// squeeze drops the size-1 axes of a shape.
func squeeze(s []int64) []int64 {
	var out []int64
	for _, d := range s {
		if d != 1 {
			out = append(out, d)
		}
	}
	return out
}
