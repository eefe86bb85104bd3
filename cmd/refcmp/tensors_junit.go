package main

import (
	"fmt"
	"strings"

	"github.com/refcmp/refcmp/diffing"
)

// tensorsSuite has one case per compared pair (in execution order), one
// per REF name without an OURS tensor, one per OURS name without a REF
// tensor, and a skipped case per REF name --ignore left out.
func tensorsSuite(o *tensorsOptions, v tensorsView) ciSuite {
	r := v.Report
	_, verdict := v.verdict()
	s := ciSuite{Command: "tensors", Inputs: []string{o.ref, o.ours}, Pass: r.Pass, Verdict: verdict}
	const cls = "refcmp.tensors"
	single := v.single()
	for i, t := range r.Tensors {
		c := ciCase{Name: t.Name, Classname: cls}
		if c.Name == "" {
			c.Name = r.Ref.Label()
		}
		if !t.Pass && !v.accepted(i) {
			c.Status, c.Type = caseFail, tensorFailType(t)
			c.Message = t.FailReason()
			if !single {
				c.Message = fmt.Sprintf("step %d: %s", i, c.Message)
			}
			var b strings.Builder
			_ = writeTextDetail(&b, tensorDetail(i, t, single), textStyle{})
			c.Text = strings.TrimLeft(b.String(), "\n")
			if r.FirstFailure != nil && *r.FirstFailure == t.Name && !single {
				c.Text = "first divergence: " + firstStepText(i, r.Sequence.Steps) + "\n" + c.Text
			}
		}
		s.Cases = append(s.Cases, c)
	}
	oneSided := caseFail
	if r.Common {
		oneSided = caseSkip // listed, not failures
	}
	for _, n := range r.RefOnly {
		s.Cases = append(s.Cases, ciCase{Name: n, Classname: cls, Status: oneSided, Type: "ref_only",
			Message: "only in REF: OURS has no tensor of this name",
			Text:    fmt.Sprintf("REF %s holds %s; OURS %s has no tensor of this name (after --map)", r.Ref.Label(), n, r.Ours.Label())})
	}
	for _, n := range r.OursOnly {
		s.Cases = append(s.Cases, ciCase{Name: n, Classname: cls + ".ours_only", Status: oneSided, Type: "ours_only",
			Message: "only in OURS: REF has no tensor of this name",
			Text:    fmt.Sprintf("OURS %s holds %s; REF %s has no tensor of this name (after --map)", r.Ours.Label(), n, r.Ref.Label())})
	}
	for _, n := range r.Ignored.Ref {
		s.Cases = append(s.Cases, ciCase{Name: n, Classname: cls, Status: caseSkip, Type: "ignored", Message: "ignored by --ignore"})
	}

	switch {
	case r.Pass:
	case r.FirstFailure != nil && !v.acceptedName(*r.FirstFailure):
		s.FirstFailure = *r.FirstFailure
		if st := r.Sequence.FirstFailureStep; st != nil && !single {
			s.FirstFailure += " (" + firstStepText(*st, r.Sequence.Steps) + ")"
		}
		for _, t := range r.Tensors {
			if t.Name == *r.FirstFailure {
				s.FirstFailure += ": " + t.FailReason()
				break
			}
		}
	default:
		if f := s.failed(); len(f) > 0 {
			s.FirstFailure = f[0].Name + ": " + f[0].Message
		}
	}
	s.Details = append(s.Details, v.sourcesLine())
	if seq, spark, ok := v.sequenceLine(); ok {
		s.Details = append(s.Details, seq, "  "+spark)
	}
	for _, n := range v.notes() {
		s.Details = append(s.Details, "note: "+n)
	}
	return s
}

// tensorFailType names how a failing pair failed.
func tensorFailType(t diffing.Result) string {
	switch {
	case t.ShapeMismatch:
		return "shape_mismatch"
	case t.Introduced > 0:
		return "nan_inf"
	case t.Tolerance.Exact:
		return "exact"
	case t.Tolerance.Check == "":
		return string(diffing.CheckAllClose)
	}
	return string(t.Tolerance.Check)
}

// firstStepText says where in the sequence a first failure is.
func firstStepText(step, steps int) string {
	switch step {
	case 0:
		return fmt.Sprintf("step 0 of %d, the first step", steps)
	case 1:
		return fmt.Sprintf("step 1 of %d; step 0 passes", steps)
	}
	return fmt.Sprintf("step %d of %d; steps 0-%d pass", step, steps, step-1)
}
