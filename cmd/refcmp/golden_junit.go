package main

import "strings"

// goldenSuite converts a golden check to a ciSuite (see junit.go): one
// case per recorded tensor found in INPUT (in the recorded order), one
// per recorded tensor missing from INPUT, and one per new tensor.
func goldenSuite(o *goldenCheckOptions, v goldenView) ciSuite {
	r := v.Report
	_, verdict := v.verdict()
	s := ciSuite{Command: "golden check", Inputs: []string{o.input, o.golden}, Pass: r.Pass, Verdict: verdict}
	const cls = "refcmp.golden"

	// The detail blocks of every changed tensor, in order.
	ds, _ := goldenView{Report: r, All: true}.details()
	next := 0
	for _, t := range r.Tensors {
		c := ciCase{Name: t.Name, Classname: cls}
		if !t.Pass {
			c.Status, c.Type = caseFail, "changed"
			c.Message = "changed: " + goldenVerdictCell(t)
			if next < len(ds) {
				var b strings.Builder
				_ = writeTextDetail(&b, ds[next], textStyle{})
				c.Text = strings.TrimLeft(b.String(), "\n")
				next++
			}
		}
		s.Cases = append(s.Cases, c)
	}
	oneSided := caseFail
	if r.Common {
		oneSided = caseSkip // --common: listed, not failures
	}
	for _, n := range r.Missing {
		s.Cases = append(s.Cases, ciCase{Name: n, Classname: cls, Status: oneSided, Type: "missing",
			Message: "missing: recorded in " + r.Golden.Path + ", not in " + r.Input.Source,
			Text:    "the golden record " + r.Golden.Path + " holds " + n + "; " + r.Input.Source + " has no tensor of this name"})
	}
	for _, n := range r.New {
		s.Cases = append(s.Cases, ciCase{Name: n, Classname: cls + ".new", Status: oneSided, Type: "new",
			Message: "new: in " + r.Input.Source + ", not recorded",
			Text:    r.Input.Source + " holds " + n + ", which the golden record " + r.Golden.Path + " does not (record it again if it belongs)"})
	}

	if f := s.failed(); len(f) > 0 {
		s.FirstFailure = f[0].Name + ": " + f[0].Message
		if r.FirstChange != nil {
			for _, c := range f {
				if c.Name == *r.FirstChange && c.Type == "changed" {
					s.FirstFailure = c.Name + ": " + c.Message
					break
				}
			}
		}
	}
	s.Details = append(s.Details, v.sourcesLine())
	for _, n := range r.Notes {
		s.Details = append(s.Details, "note: "+n)
	}
	return s
}
