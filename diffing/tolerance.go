package diffing

import (
	"fmt"
	"math"
	"path"

	"github.com/refcmp/refcmp/tensor"
)

// Check is the criterion that decides whether a pair passes.
type Check string

const (
	// CheckAllClose (the default) passes when every element satisfies
	//	|ours - ref| <= atol + rtol * |ref|
	// as torch.testing.assert_close does.
	CheckAllClose Check = "allclose"
	// CheckMaxAbs passes when every element satisfies |ours - ref| <= atol
	// (rtol is not used).
	CheckMaxAbs Check = "max-abs"
	// CheckCosine passes when the cosine similarity of the finite pairs is
	// at least Threshold.
	CheckCosine Check = "cosine"
	// CheckNMSE passes when NMSE = MSE / var(ref) is at most Threshold.
	CheckNMSE Check = "nmse"
)

// Default thresholds of the aggregate checks.
const (
	DefaultCosineThreshold = 0.997 // Polygraphy's cosine-similarity check
	DefaultNMSEThreshold   = 1e-2  // llama.cpp's model-conversion check
)

// AllChecks lists the accepted values of Check, in help order.
func AllChecks() []Check { return []Check{CheckAllClose, CheckMaxAbs, CheckCosine, CheckNMSE} }

// Tolerance decides which elements mismatch and whether a pair passes.
//
// Element rule (allclose): |ours - ref| <= Atol + Rtol * |ref|.
// With Check max-abs the rule is |ours - ref| <= Atol. Whatever the check:
// NaN equals NaN only with EqualNaN; an infinity matches only the same
// infinity; a NaN or Inf in ours where ref is finite ("introduced") always
// fails the pair. With Exact, elements must be bitwise identical (when the
// two dtypes differ: identical decoded values, same sign of zero, NaN
// matching NaN) and Atol, Rtol and Check are not used.
type Tolerance struct {
	Check     Check   `json:"check"`
	Atol      float64 `json:"atol"`
	Rtol      float64 `json:"rtol"`
	Threshold float64 `json:"threshold,omitempty"` // cosine: minimum similarity; nmse: maximum NMSE
	Exact     bool    `json:"exact,omitempty"`
	EqualNaN  bool    `json:"equal_nan,omitempty"`
}

// Validate reports a usage error for negative, NaN or infinite tolerances,
// an unknown check, or a threshold out of range.
func (t Tolerance) Validate() error {
	bad := func(name string, v float64) error {
		if math.IsNaN(v) || v < 0 || math.IsInf(v, 0) {
			return fmt.Errorf("%s must be a finite number >= 0, got %v", name, v)
		}
		return nil
	}
	if err := bad("atol", t.Atol); err != nil {
		return err
	}
	if err := bad("rtol", t.Rtol); err != nil {
		return err
	}
	switch t.Check {
	case "", CheckAllClose, CheckMaxAbs:
	case CheckCosine:
		if math.IsNaN(t.Threshold) || t.Threshold < -1 || t.Threshold > 1 {
			return fmt.Errorf("cosine threshold must be in [-1, 1], got %v", t.Threshold)
		}
	case CheckNMSE:
		if err := bad("nmse threshold", t.Threshold); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown check %q (want allclose, max-abs, cosine or nmse)", string(t.Check))
	}
	return nil
}

// dtypeTolerance is (rtol, atol) for one dtype.
//
// Floating types follow torch.testing.assert_close. The float8 types,
// which torch gives no defaults, get about one unit in the last place:
// rtol 2^-3 = 0.125 for F8_E4M3 (3 mantissa bits) and 2^-2 = 0.25 for
// F8_E5M2 (2 mantissa bits), and atol equal to the smallest subnormal:
// 2^-9 ≈ 1.95e-3 for E4M3 and 2^-16 ≈ 1.53e-5 for E5M2. Integers and bool
// are exact.
func dtypeTolerance(dt tensor.DType) (rtol, atol float64) {
	switch dt {
	case tensor.F16:
		return 1e-3, 1e-5
	case tensor.BF16:
		return 1.6e-2, 1e-5
	case tensor.F32:
		return 1.3e-6, 1e-5
	case tensor.F64:
		return 1e-7, 1e-7
	case tensor.F8E4M3:
		return 0.125, 0x1p-9
	case tensor.F8E5M2:
		return 0.25, 0x1p-16
	}
	return 0, 0
}

// DefaultTolerance is the allclose tolerance for a pair of dtypes: the
// looser of the two sides' defaults, rtol and atol each (torch's rule).
// See dtypeTolerance for the values.
func DefaultTolerance(ref, ours tensor.DType) Tolerance {
	r1, a1 := dtypeTolerance(ref)
	r2, a2 := dtypeTolerance(ours)
	return Tolerance{Check: CheckAllClose, Rtol: max(r1, r2), Atol: max(a1, a2)}
}

// ToleranceSpec is a partial tolerance: a nil or empty field keeps the
// value underneath (the dtype default, or an earlier rule).
type ToleranceSpec struct {
	Check     Check    `json:"check,omitempty"`
	Atol      *float64 `json:"atol,omitempty"`
	Rtol      *float64 `json:"rtol,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	Exact     *bool    `json:"exact,omitempty"`
	EqualNaN  *bool    `json:"equal_nan,omitempty"`
}

// apply overlays s on t.
func (s ToleranceSpec) apply(t *Tolerance) {
	if s.Check != "" && s.Check != t.Check {
		t.Check = s.Check
		switch t.Check {
		case CheckCosine:
			t.Threshold = DefaultCosineThreshold
		case CheckNMSE:
			t.Threshold = DefaultNMSEThreshold
		default:
			t.Threshold = 0
		}
	}
	if s.Atol != nil {
		t.Atol = *s.Atol
	}
	if s.Rtol != nil {
		t.Rtol = *s.Rtol
	}
	if s.Threshold != nil {
		t.Threshold = *s.Threshold
	}
	if s.Exact != nil {
		t.Exact = *s.Exact
	}
	if s.EqualNaN != nil {
		t.EqualNaN = *s.EqualNaN
	}
}

// ToleranceRule applies Spec to the tensors whose name matches Pattern, a
// glob in path.Match syntax ('*' matches any run of characters except
// '/', so "layers.*.attn.*" matches "layers.10.attn.q_proj.weight").
type ToleranceRule struct {
	Pattern string `json:"pattern"`
	ToleranceSpec
}

// ToleranceRules resolves the tolerance of each pair: the dtype default,
// overlaid with Base (the command-line flags), then with every rule whose
// pattern matches the name, in order (a later rule overrides an earlier
// one field by field).
type ToleranceRules struct {
	Base  ToleranceSpec
	Rules []ToleranceRule
}

// Validate checks every pattern and every value any rule can set.
func (rs ToleranceRules) Validate() error {
	probe := Tolerance{Check: CheckAllClose}
	rs.Base.apply(&probe)
	if err := probe.Validate(); err != nil {
		return err
	}
	for i, r := range rs.Rules {
		if r.Pattern == "" {
			return fmt.Errorf("tolerance rule %d: empty pattern", i+1)
		}
		if _, err := path.Match(r.Pattern, ""); err != nil {
			return fmt.Errorf("tolerance rule %d: pattern %q: %w", i+1, r.Pattern, err)
		}
		t := probe
		r.apply(&t)
		if err := t.Validate(); err != nil {
			return fmt.Errorf("tolerance rule %d (%s): %w", i+1, r.Pattern, err)
		}
	}
	return nil
}

// Resolve gives the tolerance for the tensor called name (the reference
// name) with the given dtypes.
func (rs ToleranceRules) Resolve(name string, ref, ours tensor.DType) Tolerance {
	t := DefaultTolerance(ref, ours)
	rs.Base.apply(&t)
	for _, r := range rs.Rules {
		if ok, _ := path.Match(r.Pattern, name); ok {
			r.apply(&t)
		}
	}
	return t
}
