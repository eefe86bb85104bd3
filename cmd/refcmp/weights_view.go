package main

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/diffing/weights"
	"github.com/refcmp/refcmp/tensor"
)

// weightsView is what the weights renderers draw: the report plus what
// only the CLI knows (the --all listing of matched weights).
type weightsView struct {
	Report  weights.Report
	Opts    weights.Options
	All     bool
	Matched []weights.Match // Report.Matched, only with --all
}

// verdict is the first line of every weights report: PASS or FAIL, the
// counts, and the size of both sides.
func (v weightsView) verdict() (pass bool, counts, sides string) {
	r := v.Report
	var parts []string
	add := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, strconv.Itoa(n)+" "+many)
		}
	}
	add(r.Counts.Missing, "missing", "missing")
	add(r.Counts.Unexpected, "unexpected", "unexpected")
	add(r.Counts.ShapeMismatch, "shape mismatch", "shape mismatches")
	add(r.Counts.DTypeMismatch, "dtype mismatch", "dtype mismatches")
	add(r.Counts.Collisions, "name collision", "name collisions")
	counts = strings.Join(parts, ", ")
	if r.Pass {
		counts = "no differences"
	}
	sides = fmt.Sprintf("expected %s; loaded %d", describeSide(r.Expected), r.Loaded.Tensors)
	return r.Pass, counts, sides
}

// describeSide gives "291 tensors / 8.03 B params", or says which shapes
// are unknown.
func describeSide(s weights.ListingSummary) string {
	t := plural(s.Tensors, "tensor", "tensors")
	switch {
	case s.Tensors > 0 && s.UnknownShapes == s.Tensors:
		return t + ", shapes unknown"
	case s.UnknownShapes > 0:
		return fmt.Sprintf("%s / %s params (%d shapes unknown)", t, humanCount(s.Parameters), s.UnknownShapes)
	}
	return t + " / " + humanCount(s.Parameters) + " params"
}

// extras is the line after the verdict about what was accepted or set
// aside rather than compared: tied and ignored weights.
func (v weightsView) extras() string {
	c := v.Report.Counts
	var parts []string
	if c.Tied > 0 {
		parts = append(parts, fmt.Sprintf("%d tied (accepted by --tied)", c.Tied))
	}
	var ign []string
	if c.IgnoredExpected > 0 {
		ign = append(ign, fmt.Sprintf("%d expected", c.IgnoredExpected))
	}
	if c.IgnoredLoaded > 0 {
		ign = append(ign, fmt.Sprintf("%d loaded", c.IgnoredLoaded))
	}
	if len(ign) > 0 {
		parts = append(parts, "ignored by --ignore: "+strings.Join(ign, ", "))
	}
	return strings.Join(parts, "; ")
}

// listedHints are the hints to list after the tables: those with a fix
// (the flag to add), and those no row shows beside it.
func (v weightsView) listedHints() []weights.Hint {
	r := v.Report
	inline := map[string]bool{}
	for _, m := range r.Missing {
		inline[m.Name] = inline[m.Name] || m.Hint != ""
	}
	for _, u := range r.Unexpected {
		inline[u.Name] = inline[u.Name] || u.Hint != ""
		if u.MappedName != "" {
			inline[u.MappedName] = inline[u.MappedName] || u.Hint != ""
		}
	}
	for _, m := range r.ShapeMismatch {
		inline[m.Name] = inline[m.Name] || m.Hint != ""
		inline[m.LoadedName] = inline[m.LoadedName] || m.Hint != ""
	}
	for _, m := range r.DTypeMismatch {
		inline[m.Name] = inline[m.Name] || m.Hint != ""
		inline[m.LoadedName] = inline[m.LoadedName] || m.Hint != ""
	}
	var out []weights.Hint
	for _, h := range r.Hints {
		shown := false
		for _, n := range h.Names {
			shown = shown || inline[n]
		}
		if h.Fix != "" || !shown {
			out = append(out, h)
		}
	}
	return out
}

// notes are facts about the inputs, each prefixed with its source.
func (v weightsView) notes() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range []weights.ListingSummary{v.Report.Expected, v.Report.Loaded} {
		for _, n := range s.Notes {
			if line := s.Source + ": " + n; !seen[line] {
				seen[line] = true
				out = append(out, line)
			}
		}
	}
	return out
}

// sections are the report's tables, differences first, folded.
func (v weightsView) sections() []tableSection {
	r := v.Report
	var out []tableSection

	if n := len(r.Missing); n > 0 {
		rows := make([][]string, n)
		for i, m := range r.Missing {
			rows[i] = []string{m.Name, tensor.FormatShape(m.Shape), dtypeCell(m.DType), m.Hint}
		}
		out = append(out, tableSection{
			Title:  "Missing (expected, not loaded)",
			Count:  n,
			Header: []string{"expected name", "shape", "dtype", "hint"},
			Code:   []bool{true, true, false, false},
			Rows:   foldRows(rows, []bool{true, false, false, true}),
		})
	}

	if n := len(r.Unexpected); n > 0 {
		mapped := false
		for _, u := range r.Unexpected {
			mapped = mapped || u.MappedName != ""
		}
		var rows [][]string
		for _, u := range r.Unexpected {
			row := []string{u.Name}
			if mapped {
				row = append(row, u.MappedName)
			}
			rows = append(rows, append(row, tensor.FormatShape(u.Shape), dtypeCell(u.DType), u.Hint))
		}
		s := tableSection{
			Title:  "Unexpected (loaded, not expected)",
			Count:  n,
			Header: []string{"loaded name", "shape", "dtype", "hint"},
			Code:   []bool{true, true, false, false},
		}
		loose := []bool{true, false, false, true}
		if mapped {
			s.Header = []string{"loaded name", "mapped to", "shape", "dtype", "hint"}
			s.Code = []bool{true, true, true, false, false}
			loose = []bool{true, true, false, false, true}
		}
		s.Rows = foldRows(rows, loose)
		out = append(out, s)
	}

	if n := len(r.ShapeMismatch); n > 0 {
		renamed := false
		for _, m := range r.ShapeMismatch {
			renamed = renamed || m.LoadedName != m.Name
		}
		var rows [][]string
		for _, m := range r.ShapeMismatch {
			row := []string{m.Name}
			if renamed {
				row = append(row, m.LoadedName)
			}
			rows = append(rows, append(row, tensor.FormatShape(m.ExpectedShape), tensor.FormatShape(m.LoadedShape), m.Hint))
		}
		s := tableSection{
			Title:  "Shape mismatch",
			Count:  n,
			Header: []string{"expected name", "expected", "loaded", "hint"},
			Code:   []bool{true, true, true, false},
		}
		loose := []bool{true, false, false, true}
		if renamed {
			s.Header = []string{"expected name", "loaded as", "expected", "loaded", "hint"}
			s.Code = []bool{true, true, true, true, false}
			loose = []bool{true, true, false, false, true}
		}
		s.Rows = foldRows(rows, loose)
		out = append(out, s)
	}

	if n := len(r.DTypeMismatch); n > 0 {
		renamed := false
		for _, m := range r.DTypeMismatch {
			renamed = renamed || m.LoadedName != m.Name
		}
		var rows [][]string
		for _, m := range r.DTypeMismatch {
			row := []string{m.Name}
			if renamed {
				row = append(row, m.LoadedName)
			}
			rows = append(rows, append(row, dtypeCell(m.ExpectedDType), dtypeCell(m.LoadedDType), m.Hint))
		}
		s := tableSection{
			Title:  "Dtype mismatch",
			Count:  n,
			Header: []string{"expected name", "expected", "loaded", "hint"},
			Code:   []bool{true, false, false, false},
		}
		loose := []bool{true, false, false, true}
		if renamed {
			s.Header = []string{"expected name", "loaded as", "expected", "loaded", "hint"}
			s.Code = []bool{true, true, false, false, false}
			loose = []bool{true, true, false, false, true}
		}
		s.Rows = foldRows(rows, loose)
		out = append(out, s)
	}

	if n := len(r.Collisions); n > 0 {
		rows := make([][]string, n)
		for i, c := range r.Collisions {
			rows[i] = []string{c.Name, strings.Join(c.LoadedNames, ", ")}
		}
		out = append(out, tableSection{
			Title:  "Name collision (several loaded weights map to one expected name; the first was compared)",
			Count:  n,
			Header: []string{"expected name", "loaded names"},
			Code:   []bool{true, true},
			Rows:   foldRows(rows, []bool{true, true}),
		})
	}

	if n := len(r.Tied); n > 0 {
		rows := make([][]string, n)
		for i, t := range r.Tied {
			rows[i] = []string{t.Name, t.TiedTo, t.LoadedName, tensor.FormatShape(t.Shape)}
		}
		out = append(out, tableSection{
			Title:  "Tied (absent, accepted by --tied)",
			Count:  n,
			Header: []string{"expected name", "tied to", "loaded as", "shape"},
			Code:   []bool{true, true, true, true},
			Rows:   foldRows(rows, []bool{true, true, true, false}),
		})
	}

	if v.All {
		out = append(out, v.allSections()...)
	}
	for i := range out {
		out[i].dropEmptyColumns()
	}
	return out
}

// allSections are the tables --all adds: what was ignored and matched.
func (v weightsView) allSections() []tableSection {
	r := v.Report
	var out []tableSection
	if n := len(r.Ignored.Expected) + len(r.Ignored.Loaded); n > 0 {
		var rows [][]string
		for _, p := range names.FoldPatterns(r.Ignored.Expected) {
			rows = append(rows, []string{p, "expected"})
		}
		for _, p := range names.FoldPatterns(r.Ignored.Loaded) {
			rows = append(rows, []string{p, "loaded"})
		}
		out = append(out, tableSection{
			Title:  "Ignored (--ignore)",
			Count:  n,
			Header: []string{"name", "side"},
			Code:   []bool{true, false},
			Rows:   rows,
		})
	}
	if n := len(v.Matched); n > 0 {
		rows := make([][]string, n)
		for i, m := range v.Matched {
			rows[i] = []string{m.Name, m.LoadedName, tensor.FormatShape(m.Shape), dtypeCell(m.DType)}
		}
		out = append(out, tableSection{
			Title:  "Matched",
			Count:  n,
			Header: []string{"expected name", "loaded as", "shape", "dtype"},
			Code:   []bool{true, true, true, false},
			Rows:   foldRows(rows, []bool{true, true, false, false}),
		})
	}
	return out
}

// dtypeCell writes a dtype, or "?" when the source gives none.
func dtypeCell(d tensor.DType) string {
	if d == tensor.Unknown {
		return "?"
	}
	return d.String()
}

// plural writes "1 tensor", "2 tensors".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// humanCount writes a count with an SI-style suffix and two decimals:
// 950, 14.48 K, 7.24 M, 8.03 B, 1.20 T.
func humanCount(n int64) string {
	if n < 1000 {
		return strconv.FormatInt(n, 10)
	}
	v := float64(n)
	for _, unit := range []string{"K", "M", "B"} {
		v /= 1000
		if s := fmt.Sprintf("%.2f", v); len(s) < len("1000.00") {
			return s + " " + unit
		}
	}
	return fmt.Sprintf("%.2f T", v/1000)
}
