package diffing

import (
	"math"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// seqResults builds results with the given max|diff| per step; a step
// fails when its max|diff| exceeds 1e-5. nanAt marks introduced NaN.
func seqResults(diffs []float64, nanAt int) []Result {
	out := make([]Result, len(diffs))
	for i, d := range diffs {
		out[i] = Result{Name: "layers." + string(rune('a'+i)), MaxAbsDiff: tensor.Float(d), FinitePairs: 10, Pass: d <= 1e-5}
		if i == nanAt {
			out[i].Introduced = 3
			out[i].Pass = false
			out[i].FirstIntroduced = &Element{Index: []int64{0, 2}, Ref: 1.5}
		}
	}
	return out
}

func TestAnalyzeSequence(t *testing.T) {
	cases := []struct {
		name    string
		diffs   []float64
		nanAt   int
		profile Profile
		first   int
		step    int
	}{
		{"clean", []float64{1e-7, 0, 2e-6, 1e-6}, -1, ProfileClean, -1, -1},
		{"jump", []float64{1e-7, 2e-7, 1e-7, 3e-2, 5e-2, 4e-2}, -1, ProfileJump, 3, 3},
		{"jump from exact", []float64{0, 0, 0, 1e-3, 1e-3}, -1, ProfileJump, 3, 3},
		{"jump after small failures", []float64{1e-6, 2e-5, 3e-5, 2e-5, 10, 20}, -1, ProfileJump, 1, 4},
		{"growth", []float64{1e-7, 3e-7, 1e-6, 4e-6, 1e-5, 3e-5, 1e-4, 4e-4, 1e-3}, -1, ProfileGrowth, 5, -1},
		{"nan", []float64{1e-7, 1e-7, 1e-7, 1e-7}, 2, ProfileNaN, 2, 2},
		{"nan after jump", []float64{1e-7, 1e-2, 1e-2, 1e-2}, 3, ProfileJump, 1, 1},
		{"steady", []float64{1e-3, 2e-3, 1e-3, 1.5e-3}, -1, ProfileSteady, 0, -1},
		// Bit-exact embeddings, then passing float noise: the failure at
		// step 12 is where it goes wrong, not the noise at step 3.
		{"exact then noise", []float64{0, 0, 0, 2e-6, 3e-6, 2e-6, 4e-6, 3e-6, 5e-6, 4e-6, 6e-6, 5e-6, 2e-3, 3e-3, 4e-3}, -1, ProfileJump, 12, 12},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := AnalyzeSequence(seqResults(c.diffs, c.nanAt))
			if s.Profile != c.profile || s.FirstFailure != c.first || s.Step != c.step {
				t.Errorf("profile %s first %d step %d, want %s %d %d\n%s\n%s", s.Profile, s.FirstFailure, s.Step,
					c.profile, c.first, c.step, s.Summary, s.Evidence)
			}
			if c.first > 0 && !strings.Contains(s.Evidence, "before it pass") {
				t.Errorf("evidence %q", s.Evidence)
			}
			if len(s.Levels) != len(c.diffs) {
				t.Errorf("levels %v", s.Levels)
			}
		})
	}
	s := AnalyzeSequence(seqResults([]float64{0, 0, 0, 2e-6, 3e-6, 2e-6, 4e-6, 3e-6, 5e-6, 4e-6, 6e-6, 5e-6, 2e-3, 3e-3, 4e-3}, -1))
	if strings.Contains(s.Summary, "step 3") || !strings.Contains(s.Summary, "step 12") || s.LaterFailures != 2 ||
		!strings.Contains(s.LookAt, "between step 11") || !strings.Contains(s.Consequences, "2 later tensors also differ, consistent with propagation from step 12") {
		t.Errorf("exact then noise: %+v", s)
	}
	named := seqResults([]float64{0, 1, 1e-9}, -1)
	for i, n := range []string{"x", "y", "z"} {
		named[i].Name = n
	}
	s = AnalyzeSequence(named)
	if s.FirstFailureName != "y" || !strings.Contains(s.Summary, "step 1 (y)") {
		t.Errorf("names: %+v", s)
	}
	if s := AnalyzeSequence(nil); s.Profile != ProfileClean || s.FirstFailure != -1 {
		t.Errorf("empty: %+v", s)
	}
}

func TestSparkline(t *testing.T) {
	got := Sparkline([]tensor.Float{-7, -6, -5, -4, -3, -2, -1, 0, tensor.Float(math.Inf(-1)), tensor.Float(math.Inf(1)), tensor.Float(math.NaN())})
	if want := "▁▂▃▄▅▆▇█·!?"; got != want {
		t.Errorf("Sparkline = %q, want %q", got, want)
	}
	// Less than a decade of range does not exaggerate noise.
	if got := Sparkline([]tensor.Float{-3, -2.9, -3}); got != "▁▂▁" {
		t.Errorf("flat sparkline = %q", got)
	}
	s := AnalyzeSequence(seqResults([]float64{1e-7, 1e-7, 1e-2}, -1))
	if got := Sparkline(s.Levels); got != "▁▁█" {
		t.Errorf("sequence sparkline = %q", got)
	}
}

// TestSequenceDataflow: propagation and "look at the op between" are
// claimed only for an order of dataflow, and later failures that name a
// cause of their own are listed apart.
func TestSequenceDataflow(t *testing.T) {
	hinted := func(rs []Result, kinds map[int]string) []Result {
		for i, k := range kinds {
			rs[i].Hints = []TensorHint{{Kind: k}}
		}
		return rs
	}
	// A checkpoint: parameter names, natural order.
	ck := seqResults([]float64{0, 0, 1e-2, 1e-3, 1e-1}, -1)
	for i, n := range []string{"emb.weight", "l0.q.weight", "l0.q.bias", "l0.norm.weight", "l1.q.weight"} {
		ck[i].Name = n
	}
	ck = hinted(ck, map[int]string{2: TensorHintChannelOffset, 3: TensorHintUnexplained, 4: TensorHintScaled})
	s := AnalyzeSequenceOrder(ck, OrderNatural)
	if !s.Independent || s.LookAt != "" || strings.Contains(s.Consequences, "propagation") ||
		!strings.Contains(s.Consequences, "its own finding") || len(s.OwnCause) != 1 || s.OwnCause[0] != 4 {
		t.Errorf("checkpoint: %+v", s)
	}
	// The same names with --order: dataflow is taken as given.
	if s := AnalyzeSequenceOrder(ck, OrderFile); s.Independent || s.LookAt == "" {
		t.Errorf("checkpoint with --order: %+v", s)
	}
	// Activations: a later pair of the first's kind or unexplained is a
	// consequence; one of another named kind is its own finding.
	act := hinted(seqResults([]float64{0, 1e-7, 1e-2, 1e-2, 1e-1, 1e-1}, -1),
		map[int]string{2: TensorHintChannelOffset, 3: TensorHintChannelOffset, 4: TensorHintUnexplained, 5: TensorHintNormAxis})
	s = AnalyzeSequenceOrder(act, OrderNatural)
	want := "2 later tensors also differ, consistent with propagation from step 2; 1 later tensor names a cause of its own (steps 5): an independent finding, not only a consequence"
	if s.Independent || s.LookAt == "" || s.Consequences != want || len(s.OwnCause) != 1 || s.OwnCause[0] != 5 {
		t.Errorf("activations: consequences %q (want %q), own %v, look at %q", s.Consequences, want, s.OwnCause, s.LookAt)
	}
	if !Dataflow(OrderInsertion, act) || Dataflow(OrderInsertion, ck) || !Dataflow(OrderMetadata, ck) {
		t.Error("Dataflow: wrong for insertion/metadata orders")
	}
}
