package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/fileio"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// evalReport is `refcmp tensors` with one side an eval-callback log: the
// dumped nodes that have a full tensor of their name on the other side,
// each compared only in what the dump holds.
type evalReport struct {
	Ref       string              `json:"ref"`
	Ours      string              `json:"ours"`
	LogSide   string              `json:"log_side"` // "ref" or "ours"
	Pass      bool                `json:"pass"`
	Checks    []diffing.EvalCheck `json:"checks"`
	Unmatched []string            `json:"unmatched"` // dumped nodes with no tensor of their name
}

// readEvalLog returns the eval-callback dumps of path when it is a text
// log holding any (a .log or .txt file), else nil.
func readEvalLog(path string) (*gguf.Log, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".log", ".txt":
	default:
		return nil, nil
	}
	f, err := fileio.Open(path)
	if err != nil {
		return nil, nil // not ours to report: the tensor readers will
	}
	defer f.Close()
	lg, err := gguf.ParseLog(f, path, gguf.DefaultLogBudget())
	if err != nil {
		return nil, err
	}
	if len(lg.Eval) == 0 {
		return nil, nil
	}
	return lg, nil
}

// runTensorsEval compares the eval dumps of lg (from the log side) with
// the tensors of the other side, paired by name after --map (which
// rewrites OURS names, the log's when it is OURS).
func runTensorsEval(a *app, o *tensorsOptions, set tensorsSettings, lg *gguf.Log, logIsOurs bool) error {
	if o.out.format == formatJUnit {
		return usagef("--format junit is not available when one side is an eval-callback log")
	}
	other, opts, label := o.ref, set.refOpts, "REF"
	if !logIsOurs {
		other, opts, label = o.ours, set.oursOpts, "OURS"
	}
	in, closeIn, err := openInput(label, other, opts)
	if err != nil {
		return err
	}
	defer closeIn()
	byName := map[string]tensor.Tensor{}
	for _, t := range in.Tensors {
		name := t.Name
		if !logIsOurs {
			var ign bool
			if name, ign = set.rules.Map(name); ign {
				continue
			}
		}
		byName[name] = t
	}
	rep := evalReport{Ref: o.ref, Ours: o.ours, LogSide: "ref", Pass: true, Checks: []diffing.EvalCheck{}, Unmatched: []string{}}
	if logIsOurs {
		rep.LogSide = "ours"
	}
	for _, e := range lg.Eval {
		name := e.Name
		if logIsOurs {
			var ign bool
			if name, ign = set.rules.Map(name); ign {
				continue
			}
		}
		t, ok := byName[name]
		if !ok && in.Single && len(lg.Eval) == 1 {
			t, ok = in.Tensors[0], true // one dump against one tensor
		}
		if !ok {
			rep.Unmatched = append(rep.Unmatched, e.Name)
			continue
		}
		tol := set.tol.Resolve(t.Name, t.DType, t.DType)
		c, err := diffing.CompareEval(t, e, tol)
		if err != nil {
			return fmt.Errorf("%s: %w", other, err)
		}
		rep.Pass = rep.Pass && c.ShapeOK && c.Pass
		rep.Checks = append(rep.Checks, c)
	}
	if len(rep.Checks) == 0 {
		return usagef("no dumped tensor of the eval log has a tensor of its name in %s (dumped: %s); rename with --map", other, strings.Join(firstN(rep.Unmatched, 8), ", "))
	}
	return o.out.render(a, rep, rep.Pass, formatRenderers{
		text:     func(textStyle) error { return renderEvalText(a.stdout, rep) },
		markdown: func() error { return renderEvalText(a.stdout, rep) },
	})
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], fmt.Sprintf("... %d more", len(s)-n))
	}
	return s
}

func renderEvalText(w io.Writer, rep evalReport) error {
	var b strings.Builder
	bad := 0
	for _, c := range rep.Checks {
		if !c.ShapeOK || !c.Pass {
			bad++
		}
	}
	verdict := "PASS"
	if !rep.Pass {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "%s: %d of %d dumped tensors differ (%s is an eval-callback log: partial tensors, only their shapes, printed values and sums compared)\n",
		verdict, bad, len(rep.Checks), strings.ToUpper(rep.LogSide))
	for _, c := range rep.Checks {
		fmt.Fprintf(&b, "%s (%s, line %d) vs %s: ", c.Name, c.Op, c.Line, c.RefName)
		switch {
		case !c.ShapeOK:
			fmt.Fprintf(&b, "FAIL: shape %v (PyTorch order) vs %v\n", c.Shape, c.RefShape)
			continue
		case c.Pass:
			b.WriteString("pass")
		default:
			b.WriteString("FAIL")
		}
		fmt.Fprintf(&b, "; %s\n", c.EvalSummary())
		for _, d := range c.Bad {
			fmt.Fprintf(&b, "  value %v: printed %.4f, ref %.6g (|diff| %.3g > %.3g)\n", d.Index, d.Printed, d.Ref, abs(d.Printed-d.Ref), d.Limit)
		}
		if c.HasSum && !c.SumOK {
			fmt.Fprintf(&b, "  sum: printed %.6f, ref %.6f (|diff| %.3g > %.3g)\n", c.Sum, c.RefSum, abs(c.Sum-c.RefSum), c.SumLimit)
		}
	}
	if len(rep.Unmatched) > 0 {
		fmt.Fprintf(&b, "note: dumped, with no tensor of their name, not compared: %s\n", strings.Join(firstN(rep.Unmatched, 8), ", "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// tryEvalLog runs the eval-log comparison when OURS (else REF) is an
// eval-callback log; done is false when neither is.
func (o *tensorsOptions) tryEvalLog(a *app, set tensorsSettings) (done bool, err error) {
	for _, side := range []struct {
		path string
		ours bool
	}{{o.ours, true}, {o.ref, false}} {
		lg, err := readEvalLog(side.path)
		if err != nil {
			return true, err
		}
		if lg != nil {
			return true, runTensorsEval(a, o, set, lg, side.ours)
		}
	}
	return false, nil
}
