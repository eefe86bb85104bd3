package diffing

import "math"

// SequenceCurve is what the picture of a sequence is drawn from: per
// step in execution order, max|ours - ref|, NMSE and the largest |d| the
// element rule allows there (Atol + Rtol * max|ref|), straight from the
// results of the compare pass.
type SequenceCurve struct {
	What         string // what MaxAbs measures, "" for max|ours - ref|
	Names        []string
	MaxAbs       []float64 // NaN where nothing compares (shape mismatch, no finite pair)
	NMSE         []float64
	Allowed      []float64 // NaN for the cosine and NMSE checks (no element rule)
	Pass         []bool
	FirstFailure int // -1 when every step passes
}

// Curve builds the curve of results in execution order.
func Curve(results []Result) SequenceCurve {
	n := len(results)
	c := SequenceCurve{Names: make([]string, n), MaxAbs: make([]float64, n), NMSE: make([]float64, n),
		Allowed: make([]float64, n), Pass: make([]bool, n), FirstFailure: -1}
	for i := range results {
		r := &results[i]
		c.Names[i] = r.Name
		c.MaxAbs[i], c.NMSE[i] = float64(r.MaxAbsDiff), float64(r.NMSE)
		if r.ShapeMismatch {
			c.MaxAbs[i], c.NMSE[i] = math.NaN(), math.NaN()
		}
		c.Pass[i] = r.Pass
		if !r.Pass && c.FirstFailure < 0 {
			c.FirstFailure = i
		}
		t := r.Tolerance
		switch {
		case t.Exact:
			c.Allowed[i] = 0
		case t.Check == CheckCosine || t.Check == CheckNMSE:
			c.Allowed[i] = math.NaN()
		case t.Check == CheckMaxAbs:
			c.Allowed[i] = t.Atol
		default:
			refMax := max(math.Abs(float64(r.Ref.Min)), math.Abs(float64(r.Ref.Max)))
			if math.IsNaN(refMax) {
				refMax = 0
			}
			c.Allowed[i] = t.Atol + t.Rtol*refMax
		}
	}
	return c
}
