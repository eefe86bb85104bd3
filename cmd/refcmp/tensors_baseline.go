package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/spf13/cobra"
)

// The regression baseline of `refcmp tensors` and `refcmp golden check`
// (--baseline, --worse-by, --write-baseline) and --common: the flags,
// and the pieces of the text and Markdown reports that show them. The
// judgement is diffing.JudgeError and Report.ApplyBaseline.

const baselineHelp = `Regression baseline (CI: accept today's deviations once, then let nothing
grow): --write-baseline FILE writes the JSON report; a later run with
--baseline FILE passes a pair when it is within its tolerance, or when it
was outside it before too and max|diff|, NMSE and the mismatch count
each grew by at most the factor --worse-by (default 1.5). A pair that
passed before and fails now, a pair the baseline does not hold, and any
growth beyond the factor fail. The report puts the baseline's figures
beside today's and says which pairs got better or worse.

--common compares the names both sides hold: names on one side only are
listed in a note, not failures (a port that dumps 5 of 31 activations).`

// baselineFlags are --baseline, --worse-by, --write-baseline and --common.
type baselineFlags struct {
	baseline, write string
	worseBy         float64
	common          bool
}

func (b *baselineFlags) register(cmd *cobra.Command, what string) {
	fs := cmd.Flags()
	fs.StringVar(&b.baseline, "baseline", "", "an earlier `FILE` (--write-baseline, or --format json): pass what is no worse than it")
	fs.Float64Var(&b.worseBy, "worse-by", diffing.DefaultWorseBy, "with --baseline, the `FACTOR` by which max|diff|, NMSE and mismatches may grow")
	fs.StringVar(&b.write, "write-baseline", "", "also write the JSON report to `FILE`, for a later --baseline")
	fs.BoolVar(&b.common, "common", false, "compare only the "+what+" both sides hold; list the others in a note")
}

// check validates the flags (usage errors).
func (b *baselineFlags) check() error {
	if math.IsNaN(b.worseBy) || math.IsInf(b.worseBy, 0) || b.worseBy < 1 {
		return usagef("--worse-by must be a finite number >= 1, got %v", b.worseBy)
	}
	return nil
}

// maxBaselineBytes bounds the baseline file read.
const maxBaselineBytes = 256 << 20

// read reads --baseline, or returns ok false when it is not given.
func (b *baselineFlags) read() (diffing.BaselineFile, bool, error) {
	if b.baseline == "" {
		return diffing.BaselineFile{}, false, nil
	}
	data, err := readBounded(b.baseline, maxBaselineBytes)
	if err != nil {
		return diffing.BaselineFile{}, false, fmt.Errorf("--baseline %w", err)
	}
	f, err := diffing.ParseBaseline(data)
	if err != nil {
		return f, false, fmt.Errorf("--baseline %s: %w", b.baseline, err)
	}
	return f, true, nil
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: larger than %d MiB", path, limit>>20)
	}
	return data, nil
}

// writeReport writes rep as JSON to --write-baseline, when given.
func (b *baselineFlags) writeReport(rep any) error {
	if b.write == "" {
		return nil
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, rep); err != nil {
		return err
	}
	if err := os.WriteFile(b.write, buf.Bytes(), 0o666); err != nil {
		return fmt.Errorf("--write-baseline %w", err)
	}
	return nil
}

// baselineVerdict is the verdict line of a report with a baseline:
//
//	nothing worse than base.json (2 of 5 tensors outside tolerance, accepted; 1 better)
//	1 of 5 tensors worse than base.json: h.3 (max|diff| 3.1e-02 was 1.5e-02)
func baselineVerdict(b *diffing.Baseline, what string) string {
	c := b.Counts
	n := len(b.Pairs)
	var s strings.Builder
	if c.Regressed == 0 {
		fmt.Fprintf(&s, "nothing worse than %s (%d of %s outside tolerance, accepted", b.Source, c.Accepted, plural(n, what, what+"s"))
	} else {
		var first []string
		for _, p := range b.Pairs {
			if !p.Pass {
				first = append(first, p.Name)
			}
		}
		verb := "is worse than"
		if c.Regressed > 1 {
			verb = "are worse than"
		}
		fmt.Fprintf(&s, "%d of %s %s %s: %s (", c.Regressed, plural(n, what, what+"s"), verb, b.Source, shortNames(first, 3))
		if c.New > 0 {
			fmt.Fprintf(&s, "%d new, ", c.New)
		}
		fmt.Fprintf(&s, "%d accepted", c.Accepted)
	}
	if c.Better > 0 {
		fmt.Fprintf(&s, "; %d better", c.Better)
	}
	s.WriteString(")")
	return s.String()
}

// baselineWhy says in a few words why a pair is judged as it is.
func baselineWhy(p diffing.BaselinePair, worseBy float64) string {
	switch {
	case p.Trend == diffing.TrendNew && !p.Pass:
		return "new: not in the baseline, outside tolerance"
	case p.Trend == diffing.TrendNew:
		return "new"
	case slices.Contains(p.Grew, "pass"):
		return "worse: passed before, fails now"
	case len(p.Grew) > 0:
		var figs []string
		shape := false
		for _, g := range p.Grew {
			if g == "shape" {
				shape = true
				continue
			}
			figs = append(figs, figureName(g))
		}
		var parts []string
		if len(figs) > 0 {
			parts = append(parts, strings.Join(figs, ", ")+" grew over "+strconv.FormatFloat(worseBy, 'g', -1, 64)+"x")
		}
		if shape {
			parts = append(parts, "the shapes differ now")
		}
		return "worse: " + strings.Join(parts, "; ")
	case p.Trend == diffing.TrendBetter && p.Now.Pass:
		return "better: within tolerance now"
	case p.Trend == diffing.TrendBetter:
		return "better (accepted)"
	case p.Accepted():
		return "same (accepted)"
	}
	return "same"
}

// figureName is how the text names a figure of diffing.ErrorFigures.
func figureName(g string) string {
	switch g {
	case "max_abs_diff":
		return "max|diff|"
	case "nmse":
		return "NMSE"
	case "introduced":
		return "NaN/Inf introduced"
	}
	return g
}

// baselineSection is the table of pairs beside their baseline: those
// that got better or worse, new ones and failing ones (every pair with
// --all).
func baselineSection(b *diffing.Baseline, all bool, step func(i int) string) tableSection {
	title := "Changed against the baseline "
	if all {
		title = "Against the baseline "
	}
	s := tableSection{
		Title:    title + fmt.Sprintf("%s (--worse-by %s)", b.Source, strconv.FormatFloat(b.WorseBy, 'g', -1, 64)),
		Header:   []string{"step", "name", "max|diff| was", "max|diff| now", "NMSE was", "NMSE now", "mismatched was", "mismatched now", "trend"},
		Code:     []bool{false, true, false, false, false, false, false, false, false},
		Optional: []string{"NMSE was", "NMSE now", "mismatched was", "mismatched now"},
	}
	for i, p := range b.Pairs {
		if !all && p.Pass && p.Trend == diffing.TrendSame {
			continue
		}
		was := []string{"-", "-", "-"}
		if p.Baseline != nil {
			was = []string{diffing.FormatStat(float64(p.Baseline.MaxAbsDiff)), diffing.FormatStat(float64(p.Baseline.NMSE)), strconv.FormatInt(p.Baseline.Mismatched, 10)}
		}
		s.Rows = append(s.Rows, []string{step(i), p.Name,
			was[0], diffing.FormatStat(float64(p.Now.MaxAbsDiff)),
			was[1], diffing.FormatStat(float64(p.Now.NMSE)),
			was[2], strconv.FormatInt(p.Now.Mismatched, 10),
			baselineWhy(p, b.WorseBy)})
	}
	s.Count = len(s.Rows)
	return s
}

// shortNames writes up to n names, then how many more.
func shortNames(ns []string, n int) string {
	if len(ns) <= n {
		return strings.Join(ns, ", ")
	}
	return strings.Join(ns[:n], ", ") + fmt.Sprintf(", … %d more", len(ns)-n)
}
