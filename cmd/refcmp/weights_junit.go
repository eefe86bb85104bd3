package main

import (
	"fmt"
	"strings"

	"github.com/refcmp/refcmp/diffing/weights"
	"github.com/refcmp/refcmp/tensor"
)

// weightsSuite converts the weights report to a ciSuite (see junit.go).

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

	// Each expected weight is ignored, missing, tied or matched (and then
	// maybe mismatched or colliding), and every such list is in the
	// expected listing's order, so one walk of the listing meets each
	// list's rows in turn.
	ignored := walk(r.Ignored.Expected, func(n string) string { return n })
	missing := walk(r.Missing, func(m weights.Row) string { return m.Name })
	matched := walk(r.Matched, func(m weights.Match) string { return m.Name })
	shapes := walk(r.ShapeMismatch, func(m weights.ShapeMismatch) string { return m.Name })
	dtypes := walk(r.DTypeMismatch, func(m weights.DTypeMismatch) string { return m.Name })

	seen := map[string]bool{}
	for _, w := range expected.Weights {
		if seen[w.Name] {
			continue
		}
		seen[w.Name] = true
		c := ciCase{Name: w.Name, Classname: cls}
		desc := tensor.FormatShape(w.Shape) + " " + dtypeCell(w.DType)
		if m, ok := missing.take(w.Name); ok {
			c.Status, c.Type = caseFail, "missing"
			c.Message = fmt.Sprintf("missing: expected %s %s, not loaded", tensor.FormatShape(m.Shape), dtypeCell(m.DType))
			lines := []string{fmt.Sprintf("expected %s %s (in %s) is not in %s", w.Name, desc, r.Expected.Source, r.Loaded.Source)}
			c.Text = strings.Join(append(lines, hintLines(m.Hint, w.Name)...), "\n")
			s.Cases = append(s.Cases, c)
			continue
		}
		if _, ok := ignored.take(w.Name); ok {
			c.Status, c.Type, c.Message = caseSkip, "ignored", "ignored by --ignore"
			s.Cases = append(s.Cases, c)
			continue
		}
		match, ok := matched.take(w.Name)
		if !ok {
			s.Cases = append(s.Cases, c) // in r.Tied: absent, accepted by --tied
			continue
		}
		var msgs, lines []string
		var rowHints []string
		loadedAs := w.Name
		if m, ok := shapes.take(w.Name); ok {
			c.Type = "shape_mismatch"
			loadedAs = m.LoadedName
			msgs = append(msgs, fmt.Sprintf("shape: expected %s, loaded %s", tensor.FormatShape(m.ExpectedShape), tensor.FormatShape(m.LoadedShape)))
			rowHints = append(rowHints, m.Hint)
		}
		if m, ok := dtypes.take(w.Name); ok {
			if c.Type == "" {
				c.Type = "dtype_mismatch"
			}
			loadedAs = m.LoadedName
			msgs = append(msgs, fmt.Sprintf("dtype: expected %s, loaded %s", dtypeCell(m.ExpectedDType), dtypeCell(m.LoadedDType)))
			rowHints = append(rowHints, m.Hint)
		}
		if match.Colliding != nil {
			if c.Type == "" {
				c.Type = "collision"
			}
			msgs = append(msgs, fmt.Sprintf("name collision: loaded weights %s all map to this name; the first was compared",
				strings.Join(match.Colliding, ", ")))
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

// rowWalk steps through rows listed in the expected listing's order.
type rowWalk[T any] struct {
	rows []T
	name func(T) string
	i    int
}

func walk[T any](rows []T, name func(T) string) *rowWalk[T] {
	return &rowWalk[T]{rows: rows, name: name}
}

// take returns the next row when it is about name, and steps past it.
func (w *rowWalk[T]) take(name string) (T, bool) {
	if w.i < len(w.rows) && w.name(w.rows[w.i]) == name {
		w.i++
		return w.rows[w.i-1], true
	}
	var zero T
	return zero, false
}
