package diffing

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

func TestJudgeError(t *testing.T) {
	fail := func(maxd, nmse float64, mis int64) ErrorFigures {
		return ErrorFigures{MaxAbsDiff: tensor.Float(maxd), NMSE: tensor.Float(nmse), Mismatched: mis}
	}
	pass := ErrorFigures{Pass: true, MaxAbsDiff: 1e-7}
	base := fail(0.01, 1e-5, 60)
	for _, tc := range []struct {
		name   string
		before *ErrorFigures
		now    ErrorFigures
		trend  string
		grew   []string
		pass   bool
	}{
		{"same", &base, base, TrendSame, nil, true},
		{"within factor", &base, fail(0.0149, 1.49e-5, 89), TrendSame, nil, true},
		{"doubled", &base, fail(0.02, 4e-5, 60), TrendWorse, []string{"max_abs_diff", "nmse"}, false},
		{"more mismatches", &base, fail(0.01, 1e-5, 91), TrendWorse, []string{"mismatched"}, false},
		{"halved", &base, fail(0.005, 2.5e-6, 60), TrendBetter, nil, true},
		{"now within tolerance", &base, pass, TrendBetter, nil, true},
		{"passed before", &pass, base, TrendWorse, []string{"max_abs_diff", "nmse", "mismatched", "pass"}, false},
		{"both pass", &pass, ErrorFigures{Pass: true, MaxAbsDiff: 1e-5}, TrendSame, nil, true},
		{"new failing", nil, base, TrendNew, nil, false},
		{"new passing", nil, pass, TrendNew, nil, true},
		{"NaN now", &base, fail(math.NaN(), math.NaN(), 60), TrendWorse, []string{"max_abs_diff", "nmse"}, false},
		{"NaN both", ptrTo(fail(math.NaN(), math.NaN(), 64)), fail(math.NaN(), math.NaN(), 64), TrendSame, nil, true},
		{"introduced", &base, ErrorFigures{MaxAbsDiff: 0.01, NMSE: 1e-5, Mismatched: 60, Introduced: 1}, TrendWorse, []string{"introduced"}, false},
		{"shape now", &base, ErrorFigures{MaxAbsDiff: 0.01, NMSE: 1e-5, Mismatched: 60, ShapeMismatch: true}, TrendWorse, []string{"shape"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := JudgeError("x", tc.before, tc.now, 1.5)
			if p.Trend != tc.trend || p.Pass != tc.pass || !slices.Equal(p.Grew, tc.grew) && len(p.Grew)+len(tc.grew) > 0 {
				t.Errorf("JudgeError = trend %s grew %v pass %v, want %s %v %v", p.Trend, p.Grew, p.Pass, tc.trend, tc.grew, tc.pass)
			}
		})
	}
	// 0 means the default factor.
	if p := JudgeError("x", &base, fail(0.0149, 1e-5, 60), 0); !p.Pass {
		t.Errorf("factor 0 (default %v) fails a growth of 1.49x", DefaultWorseBy)
	}
}

func ptrTo[T any](v T) *T { return &v }

func TestParseBaseline(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{`{"tensors": [], "counts": {}}`, ""},
		{`{"tensors": [{"name": "a", "max_abs_diff": "NaN", "nmse": 1, "mismatched": 2, "pass": false}], "counts": {}}`, ""},
		{`{"version": 1, "tensors": []}`, "this is a golden file"},
		{`{"pass": true}`, `no "tensors" and "counts"`},
		{`PASS`, "not a refcmp tensors --format json report: invalid character"},
		{`{"tensors": [{"name": "a"}, {"name": "a"}], "counts": {}}`, `tensor "a" appears twice`},
		{`{"tensors": [{"name": ""}], "counts": {}}`, "tensors[0]: no name"},
		{`{"tensors": [{"name": "a", "mismatched": -1}], "counts": {}}`, "negative count"},
	} {
		_, err := ParseBaseline([]byte(tc.in))
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseBaseline(%s): %v", tc.in, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseBaseline(%s) = %v, want an error with %q", tc.in, err, tc.err)
		}
	}
}

// TestApplyBaselineSequence checks that under a baseline the sequence
// and the first failure are about the pairs worse than the baseline, not
// those it accepts.
func TestApplyBaselineSequence(t *testing.T) {
	names := []string{"embed", "h.0", "h.1", "h.2"}
	build := func(scale []float64) *Report {
		r := &Report{}
		for i, n := range names {
			r.Tensors = append(r.Tensors, Result{Name: n, MaxAbsDiff: tensor.Float(0.01 * scale[i]), NMSE: tensor.Float(1e-5 * scale[i] * scale[i]), Mismatched: 60})
		}
		r.FirstFailure = &r.Tensors[0].Name
		r.setSequence(r.Tensors)
		return r
	}
	prev := BaselineFile{Names: names, Figures: map[string]ErrorFigures{}}
	for _, p := range build([]float64{1, 1, 1, 1}).Tensors {
		prev.Figures[p.Name] = FiguresOf(p)
	}
	same := build([]float64{1, 1, 1, 1})
	same.ApplyBaseline(prev, "b.json", 0)
	if s := same.Sequence.Sequence; !same.Pass || same.FirstFailure != nil || s.FirstFailure != -1 || !strings.Contains(s.Summary, "no step worse than the baseline: 4 of 4") {
		t.Errorf("all accepted: pass %v, first failure %v, sequence %d %q", same.Pass, same.FirstFailure, s.FirstFailure, s.Summary)
	}
	worse := build([]float64{1, 1, 3, 1})
	worse.ApplyBaseline(prev, "b.json", 0)
	if s := worse.Sequence.Sequence; worse.Pass || worse.FirstFailure == nil || *worse.FirstFailure != "h.1" || s.FirstFailure != 2 ||
		s.LaterFailures != 0 || !strings.Contains(s.LookAt, "step 1 (h.0)") {
		t.Errorf("h.1 worse: pass %v, sequence %+v", worse.Pass, s)
	}
}
