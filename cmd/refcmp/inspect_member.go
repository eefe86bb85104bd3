package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/tensor"
)

// FILE:NAME[SLICE] and --values of `refcmp inspect`, and its JUnit
// report for --check-finite.

// numpyThreshold is numpy's print threshold: past it, arrays show their
// edge items only.
const numpyThreshold = 1000

// splitInspectArg splits FILE[:NAME][SLICE]. A file of the whole name
// wins; the slice is a trailing [...]; NAME follows the last ':' of what
// is left when the part before it exists.
func splitInspectArg(arg string) (path, member, slice string) {
	if _, err := os.Stat(arg); err == nil {
		return arg, "", ""
	}
	rest := arg
	if strings.HasSuffix(rest, "]") {
		if i := strings.LastIndexByte(rest, '['); i > 0 {
			rest, slice = rest[:i], rest[i:]
		}
	}
	if _, err := os.Stat(rest); err == nil {
		return rest, "", slice
	}
	if i := strings.LastIndexByte(rest, ':'); i > 0 && i < len(rest)-1 {
		if _, err := os.Stat(rest[:i]); err == nil {
			return rest[:i], rest[i+1:], slice
		}
	}
	return arg, "", ""
}

// pickMember keeps the tensor called member (all when member is "").
func pickMember(path, member string, ts []tensor.Tensor) ([]tensor.Tensor, error) {
	if member == "" {
		return ts, nil
	}
	i := slices.IndexFunc(ts, func(t tensor.Tensor) bool { return t.Name == member })
	if i < 0 {
		return nil, fmt.Errorf("%s:%s: no tensor %q in %s (%s)", path, member, member, path, memberHint(member, ts))
	}
	return ts[i : i+1], nil
}

// sliceTensor applies SLICE ("" for none) to t.
func sliceTensor(t tensor.Tensor, slice string) (tensor.Tensor, error) {
	if slice == "" {
		return t, nil
	}
	sl, err := diffing.ParseSlice(slice, t.Shape)
	if err != nil {
		return t, usageErrorf("tensor %q: %v", t.Name, err)
	}
	return diffing.SliceOf(t, sl)
}

// usageErrorf is a usage error with a place.
func usageErrorf(format string, args ...any) error { return usagef(format, args...) }

func newInspectValues(v diffing.Values) *inspectValues {
	out := &inspectValues{Shape: v.Shape, Summarized: v.Summarized, Shown: v.Shown, Data: make([]tensor.Float, len(v.Data)), Text: numpyText(v)}
	for i, x := range v.Data {
		out.Data[i] = tensor.Float(x)
	}
	return out
}

// valuesBlocks are the --values texts: a title line and the values.
func (v inspectView) valuesBlocks() (titles, texts []string) {
	r := v.Report
	for _, t := range r.Tensors {
		if t.Values == nil {
			continue
		}
		title := t.Name
		if r.Slice != "" {
			title += r.Slice
		}
		title += "  " + tensor.FormatShape(t.Values.Shape) + "  " + dtypeCell(t.DType)
		if t.Values.Summarized {
			title += "  (edge items only)"
		}
		titles = append(titles, title)
		texts = append(texts, t.Values.Text)
	}
	return titles, texts
}

// inspectSuite is --check-finite as JUnit: one case per tensor, failing
// for those that hold a NaN or an infinity.
func inspectSuite(o *inspectOptions, v inspectView) ciSuite {
	r := v.Report
	_, verdict, _ := v.verdict()
	s := ciSuite{Command: "inspect --check-finite", Inputs: []string{o.path}, Pass: r.Finite == nil || r.Finite.Pass, Verdict: verdict}
	const cls = "refcmp.inspect"
	for i, t := range r.Tensors {
		c := ciCase{Name: t.Name, Classname: cls}
		if c.Name == "" {
			c.Name = r.Source
		}
		switch {
		case t.Stats == nil:
			c.Status, c.Type, c.Message = caseSkip, "not_float", "not read: "+dtypeCell(t.DType)+" cannot hold NaN or Inf"
		case t.Stats.NaN+t.Stats.Inf > 0:
			c.Status, c.Type = caseFail, "nan_inf"
			c.Message = fmt.Sprintf("step %d: %d NaN, %d Inf", i, t.Stats.NaN, t.Stats.Inf)
			if e := t.FirstNonFinite; e != nil {
				c.Text = fmt.Sprintf("first non-finite element at %s: %s", tensor.FormatShape(e.Index), diffing.FormatValue(float64(e.Value)))
			}
		}
		s.Cases = append(s.Cases, c)
	}
	if f := s.failed(); len(f) > 0 {
		s.FirstFailure = f[0].Name + ": " + f[0].Message
	}
	s.Details = append(s.Details, v.sourceLine())
	for _, n := range r.Notes {
		s.Details = append(s.Details, "note: "+n)
	}
	return s
}

// memberHint lists the closest names to a missing one, or the first few.
func memberHint(member string, ts []tensor.Tensor) string {
	ns := make([]string, len(ts))
	for i, t := range ts {
		ns[i] = t.Name
	}
	if c := names.Closest(member, ns, 3); len(c) > 0 {
		return "did you mean " + quoteJoin(c) + "?"
	}
	return "it holds " + diffing.NameList(ts, 8)
}

// quoteJoin writes names quoted, "a", "b" or "c".
func quoteJoin(ns []string) string {
	q := make([]string, len(ns))
	for i, n := range ns {
		q[i] = fmt.Sprintf("%q", n)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
}
