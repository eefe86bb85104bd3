package diffing

import (
	"fmt"
	"math"
)

// unexplainedHint is the hint of a failing pair no detector explains and
// that is not noise: it says so, with the error in units of ε and the
// strongest structure found (the per-axis model that explains most of
// Σ d², and the axis whose indices hold most of the mismatches).
func unexplainedHint(res *Result, ax *axisStats, nl noiseLevel, p *partial) TensorHint {
	ev := fmt.Sprintf("rms|d| = %s ε·rms(ref), max|d| = %s ε·max|ref| (ε = %s): above float noise (bounds %d and %d)",
		g(nl.rmsEps), g(nl.maxEps), g(nl.eps), NoiseMaxRMSEps, NoiseMaxAbsEps)
	if !nl.measured || nl.noise {
		ev = fmt.Sprintf("max|d| = %s, NMSE %s, cosine %.7f", g(float64(res.MaxAbsDiff)), g(float64(res.NMSE)), float64(res.Cosine))
	}
	summary := "no known cause fits: the differences are above float noise and match none of the structure detectors"
	if p != nil && p.nfMis > 0 && p.nfMis == res.Mismatched {
		// Only NaN/Inf fail: the finite pairs are within the tolerance.
		summary = "no known cause fits: every mismatch is a NaN or Inf (the finite pairs are within tolerance), with no pattern in ref's values there"
		ev = fmt.Sprintf("%d of %d mismatches are NaN or ±Inf on one side (%d introduced in ours where ref is finite); the finite pairs: max|d| = %s",
			p.nfMis, res.Mismatched, res.Introduced, g(float64(res.MaxAbsDiff)))
	}
	if ax != nil && ax.total.sdd > 0 {
		bestA, bestE, what := -1, 0.0, ""
		for a, d := range ax.shape {
			if d < 2 || ax.total.n/d < 4 || !ax.indexed(a) {
				continue
			}
			f := ax.fit(a)
			if e := explained(f.sseOff, ax.total.sdd, ax.total.n, d); e > bestE {
				bestA, bestE, what = a, e, "a per-index offset"
			}
			if e := explained(f.sseAff, ax.total.sdd, ax.total.n, 2*d); e > bestE {
				bestA, bestE, what = a, e, "a per-index a·ref + b"
			}
		}
		if bestA >= 0 {
			ev += fmt.Sprintf("; strongest structure: %s along %s explains %.1f%% of Σ d²", what, axisRole(ax.shape, bestA), 100*bestE)
		}
		// Where the mismatches concentrate: the index holding most.
		mostA, mostI, mostF := -1, 0, 0.0
		for a, s := range ax.ax {
			if len(s) < 2 || ax.total.mis == 0 {
				continue
			}
			for i, c := range s {
				if f := float64(c.mis) / float64(ax.total.mis); f > mostF*1.0001 && f > 1.5/float64(len(s)) {
					mostA, mostI, mostF = a, i, f
				}
			}
		}
		if mostA >= 0 && !math.IsNaN(mostF) {
			ev += fmt.Sprintf("; index %d of axis %d holds %.0f%% of the mismatches", mostI, mostA, 100*mostF)
		}
	}
	return TensorHint{
		Kind:     TensorHintUnexplained,
		Summary:  summary,
		Evidence: ev,
		Look:     "the op that writes this tensor: compare its intermediate values one step at a time",
	}
}
