package diffing

import (
	"fmt"
	"math"

	"github.com/refcmp/refcmp/tensor"
)

// The noise rule: a failing pair is rounding noise, not a bug, when its
// differences are what floating-point arithmetic in the compute dtype
// (the narrower float dtype of the pair) produces and no detector finds
// structure in them.
const (
	// NoiseMaxRMSEps bounds rms|ours - ref| in units of ε·rms(ref).
	NoiseMaxRMSEps = 64
	// NoiseMaxAbsEps bounds max|ours - ref| in units of ε·max|ref|.
	NoiseMaxAbsEps = 512
)

// NoiseRule is the rule as printed by `refcmp tensors --help` and the docs.
const NoiseRule = `Noise or bug: a failing pair is called float rounding noise (not a bug)
when, with ε the machine epsilon of the compute dtype (the narrower float
dtype of the pair: F32 2^-23, F16 2^-10, BF16 2^-7, F64 2^-52),
    rms|ours - ref| <= 64 ε · rms(ref)   and   max|ours - ref| <= 512 ε · max|ref|,
no NaN/Inf differs, and no structure detector finds a pattern in the
differences (see docs/hints.md). Such a pair gets the hint "noise" with its
error in units of ε, its NMSE and cosine, and the tolerance that accepts it;
every other failing pair is counted as "not noise" and gets a cause, or
"unexplained" with the strongest structure found. Typical float32 noise
(another summation order, float64 accumulation, a fused op) is 1-10 ε.`

// epsilon is the machine epsilon (2^(1-p)) of a float dtype; 0 otherwise.
func epsilon(dt tensor.DType) float64 {
	switch dt {
	case tensor.F64, tensor.F32, tensor.F16, tensor.BF16, tensor.F8E4M3, tensor.F8E5M2:
		return math.Ldexp(1, 1-precision(dt))
	}
	return 0
}

// noiseLevel is how a pair's error compares with its compute dtype's
// rounding.
type noiseLevel struct {
	dtype          tensor.DType
	eps            float64
	rmsEps, maxEps float64 // rms|d| / (ε rms(ref)), max|d| / (ε max|ref|)
	noise          bool    // within the rule's bounds (structure aside)
	measured       bool    // rmsEps and maxEps are set (ref is not all zero)
}

func measureNoise(res *Result, p *partial) noiseLevel {
	dt := res.RefDType
	if precision(res.OursDType) < precision(dt) {
		dt = res.OursDType
	}
	nl := noiseLevel{dtype: dt, eps: epsilon(dt)}
	if nl.eps == 0 || p.pairs == 0 {
		return nl
	}
	// From the scaled sum: Σ ref² of values near 1e-170 underflows.
	rmsRef := sqrtScaled(p.rr.mant()/float64(p.pairs), p.rr.e)
	maxRef := max(math.Abs(p.ref.min), math.Abs(p.ref.max))
	if rmsRef == 0 || maxRef == 0 || math.IsInf(maxRef, 0) {
		return nl
	}
	nl.rmsEps = float64(res.RMSE) / (nl.eps * rmsRef)
	nl.maxEps = p.maxAbs / (nl.eps * maxRef)
	nl.measured = true
	nl.noise = p.nfMis == 0 && res.Introduced == 0 && nl.rmsEps <= NoiseMaxRMSEps && nl.maxEps <= NoiseMaxAbsEps
	return nl
}

func (nl noiseLevel) evidence(res *Result) string {
	return fmt.Sprintf("rms|d| = %s ε·rms(ref), max|d| = %s ε·max|ref| (ε = %s, %s; noise bounds %d and %d); NMSE %s, cosine %.9f; no structure found",
		g(nl.rmsEps), g(nl.maxEps), g(nl.eps), nl.dtype, NoiseMaxRMSEps, NoiseMaxAbsEps, g(float64(res.NMSE)), float64(res.Cosine))
}

func (nl noiseLevel) hint(res *Result) TensorHint {
	name := "F32"
	if nl.dtype != tensor.Unknown {
		name = nl.dtype.String()
	}
	return TensorHint{
		Kind:     TensorHintNoise,
		Summary:  fmt.Sprintf("%s rounding noise (e.g. summation order, fused ops, another accumulation precision); not a bug", name),
		Evidence: nl.evidence(res),
		Look:     "nothing in the port: loosen the check for this tensor (the tolerance below), or compare with --check cosine or nmse",
	}
}
