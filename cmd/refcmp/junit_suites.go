package main

import (
	"fmt"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/weights"
	"github.com/refcmp/refcmp/tensor"
)

// Conversions of the weights and tensors reports to a ciSuite (see
// junit.go): one case per weight or tensor, failures carrying the same
// diagnosis the text output gives.

// weightsSuite has one case per expected weight (in the expected
// listing's order: passing, failing or skipped when --ignore left it out)
// and one per unexpected loaded weight.
func weightsSuite(o *weightsOptions, expected tensor.Listing, v weightsView) ciSuite {
	r := v.Report
	_, counts, sides := v.verdict()
	s := ciSuite{Command: "weights", Inputs: []string{o.expected, o.loaded}, Pass: r.Pass, Verdict: counts + " (" + sides + ")"}
	const cls = "refcmp.weights"

	hintsOf := map[string][]weights.Hint{}
	for _, h := range r.Hints {
		for _, n := range unique(h.Names) {
			hintsOf[n] = append(hintsOf[n], h)
		}
	}
	hintLines := func(rowHint string, names ...string) []string {
		var out []string
		if rowHint != "" {
			out = append(out, "hint: "+rowHint)
		}
		seen := map[string]bool{}
		for _, n := range names {
			for _, h := range hintsOf[n] {
				key := h.Kind + "\x00" + h.Message
				if h.Fix == "" && rowHint != "" || seen[key] {
					// the row's own hint says it; the report's hints
					// add their fixes.
					continue
				}
				seen[key] = true
				out = append(out, "hint: "+h.Kind+": "+h.Message)
				if h.Fix != "" {
					out = append(out, "  fix: "+h.Fix)
				}
			}
		}
		return out
	}

	ignored := setOf(r.Ignored.Expected)
	missing := byName(r.Missing, func(m weights.Row) string { return m.Name })
	tied := byName(r.Tied, func(t weights.TiedRow) string { return t.Name })
	shapes := byName(r.ShapeMismatch, func(m weights.ShapeMismatch) string { return m.Name })
	dtypes := byName(r.DTypeMismatch, func(m weights.DTypeMismatch) string { return m.Name })
	collisions := byName(r.Collisions, func(c weights.Collision) string { return c.Name })

	seen := map[string]bool{}
	for _, w := range expected.Weights {
		if seen[w.Name] {
			continue
		}
		seen[w.Name] = true
		c := ciCase{Name: w.Name, Classname: cls}
		desc := tensor.FormatShape(w.Shape) + " " + dtypeCell(w.DType)
		if m, ok := missing[w.Name]; ok {
			c.Status, c.Type = caseFail, "missing"
			c.Message = fmt.Sprintf("missing: expected %s %s, not loaded", tensor.FormatShape(m.Shape), dtypeCell(m.DType))
			lines := []string{fmt.Sprintf("expected %s %s (in %s) is not in %s", w.Name, desc, r.Expected.Source, r.Loaded.Source)}
			c.Text = strings.Join(append(lines, hintLines(m.Hint, w.Name)...), "\n")
			s.Cases = append(s.Cases, c)
			continue
		}
		switch {
		case ignored[w.Name]:
			c.Status, c.Type, c.Message = caseSkip, "ignored", "ignored by --ignore"
			s.Cases = append(s.Cases, c)
			continue
		case tied[w.Name].Name != "":
			s.Cases = append(s.Cases, c) // absent, accepted by --tied
			continue
		}
		var msgs, lines []string
		var rowHints []string
		loadedAs := w.Name
		if m, ok := shapes[w.Name]; ok {
			c.Type = "shape_mismatch"
			loadedAs = m.LoadedName
			msgs = append(msgs, fmt.Sprintf("shape: expected %s, loaded %s", tensor.FormatShape(m.ExpectedShape), tensor.FormatShape(m.LoadedShape)))
			rowHints = append(rowHints, m.Hint)
		}
		if m, ok := dtypes[w.Name]; ok {
			if c.Type == "" {
				c.Type = "dtype_mismatch"
			}
			loadedAs = m.LoadedName
			msgs = append(msgs, fmt.Sprintf("dtype: expected %s, loaded %s", dtypeCell(m.ExpectedDType), dtypeCell(m.LoadedDType)))
			rowHints = append(rowHints, m.Hint)
		}
		if col, ok := collisions[w.Name]; ok {
			if c.Type == "" {
				c.Type = "collision"
			}
			msgs = append(msgs, fmt.Sprintf("name collision: loaded weights %s all map to this name; the first was compared",
				strings.Join(col.LoadedNames, ", ")))
		}
		if c.Type == "" {
			s.Cases = append(s.Cases, c)
			continue
		}
		c.Status = caseFail
		c.Message = strings.Join(msgs, "; ")
		lines = append(lines, fmt.Sprintf("expected %s %s (in %s)", w.Name, desc, r.Expected.Source))
		if loadedAs != w.Name {
			lines = append(lines, "loaded as "+loadedAs+" (in "+r.Loaded.Source+")")
		}
		lines = append(lines, msgs...)
		rowHint := strings.Join(nonEmpty(unique(rowHints)), "; ")
		hl := hintLines(rowHint, w.Name, loadedAs)
		c.Text = strings.Join(append(lines, hl...), "\n")
		s.Cases = append(s.Cases, c)
	}

	for _, u := range r.Unexpected {
		c := ciCase{Name: u.Name, Classname: cls + ".unexpected", Status: caseFail, Type: "unexpected"}
		c.Message = fmt.Sprintf("unexpected: loaded %s %s, not expected", tensor.FormatShape(u.Shape), dtypeCell(u.DType))
		line := fmt.Sprintf("loaded %s %s %s (in %s) is not in %s", u.Name, tensor.FormatShape(u.Shape), dtypeCell(u.DType), r.Loaded.Source, r.Expected.Source)
		if u.MappedName != "" {
			c.Message += " (mapped to " + u.MappedName + ")"
			line += " (mapped to " + u.MappedName + " by --map)"
		}
		names := []string{u.Name}
		if u.MappedName != "" {
			names = append(names, u.MappedName)
		}
		c.Text = strings.Join(append([]string{line}, hintLines(u.Hint, names...)...), "\n")
		s.Cases = append(s.Cases, c)
	}

	if f := s.failed(); len(f) > 0 {
		s.FirstFailure = f[0].Name + ": " + f[0].Message
	}
	if e := v.extras(); e != "" {
		s.Details = append(s.Details, e)
	}
	for _, n := range v.notes() {
		s.Details = append(s.Details, "note: "+n)
	}
	fixes := 0
	for _, h := range r.Hints {
		if h.Fix != "" {
			s.Details = append(s.Details, "hint: "+h.Kind+": "+h.Message, "  fix: "+h.Fix)
			fixes++
		}
	}
	if fixes > 1 && r.Fix != "" {
		s.Details = append(s.Details, "all fixes: "+r.Fix)
	}
	return s
}

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

// nonEmpty returns ss without its empty strings.
func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// setOf returns the set of names.
func setOf(names []string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// unique returns ss without repeats, in order.
func unique(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// byName indexes rows by their expected name.
func byName[T any](rows []T, name func(T) string) map[string]T {
	m := make(map[string]T, len(rows))
	for _, r := range rows {
		m[name(r)] = r
	}
	return m
}
