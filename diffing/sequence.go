package diffing

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/tensor"
)

// Profile classifies how the error evolves along a sequence of tensors in
// execution order.
type Profile string

const (
	ProfileClean  Profile = "clean"  // every step passes
	ProfileJump   Profile = "jump"   // max|diff| jumps by 100× or more at one step
	ProfileGrowth Profile = "growth" // max|diff| grows gradually (accumulating error)
	ProfileNaN    Profile = "nan"    // the first failure is a NaN/Inf introduced by ours
	ProfileSteady Profile = "steady" // failing at a roughly constant level, no jump or trend
)

// Sequence is the analysis of results in execution order.
type Sequence struct {
	Steps int `json:"steps"`
	// FirstFailure is the index of the first failing step (-1 when all
	// pass); every step before it passed.
	FirstFailure     int     `json:"first_failure"`
	FirstFailureName string  `json:"first_failure_name,omitempty"`
	Profile          Profile `json:"profile"`
	// Step is the N of "jump at step N" and "NaN from step N" (-1 otherwise).
	Step     int    `json:"step"`
	Summary  string `json:"summary"`
	Evidence string `json:"evidence"`
	// LookAt says where to look: the op between the last passing step
	// and the first failing one ("" when the first step fails or all pass).
	LookAt string `json:"look_at,omitempty"`
	// LaterFailures counts the failing steps after the first failure;
	// Consequences words them as the propagation they usually are.
	LaterFailures int    `json:"later_failures"`
	Consequences  string `json:"consequences,omitempty"`
	// Independent: the order is not known to be one of dataflow (a
	// checkpoint's parameters, no --order or refcmp.order), so no step is
	// said to cause another: no LookAt, no propagation.
	Independent bool `json:"independent,omitempty"`
	// OwnCause are the later failing steps whose primary diagnosis names
	// a cause of its own (with dataflow, a cause of another kind than the
	// first failure's): independent findings, not consequences.
	OwnCause []int `json:"own_cause,omitempty"`
	// Levels is log10 max|ours - ref| per step: -Infinity for an exact
	// match, Infinity where ours introduced NaN/Inf, NaN where nothing
	// comparable (shape mismatch, no finite pair).
	Levels []tensor.Float `json:"levels"`
}

// jumpDecades is the rise over every earlier step that makes a jump.
const jumpDecades = 2.0

// stepLevel is the sparkline level of one result.
func stepLevel(r *Result) float64 {
	switch {
	case r.Introduced > 0:
		return math.Inf(1)
	case r.ShapeMismatch || r.FinitePairs == 0 || math.IsNaN(float64(r.MaxAbsDiff)):
		return math.NaN()
	case r.MaxAbsDiff == 0:
		return math.Inf(-1)
	}
	return math.Log10(float64(r.MaxAbsDiff))
}

// AnalyzeSequence finds the first failing step of results (in execution
// order; results[i].Name names step i) and classifies the error profile:
//   - clean: every step passes;
//   - nan: the first failing step has NaN/Inf introduced by ours;
//   - jump at step N: log10 max|diff| at N exceeds every earlier step's by
//     at least 2 (a 100× jump) and accounts for at least half of the
//     overall rise;
//   - growth: the median level of the last third of the steps exceeds that
//     of the first third by at least one decade, and levels rise at most
//     steps;
//   - steady: none of these (e.g. wrong from the first step at one level).
//
// The steps are taken to feed each other (look at the op between the
// last passing and the first failing step; later failures consistent
// with propagation); AnalyzeSequenceOrder says when they do not.
func AnalyzeSequence(results []Result) Sequence {
	return analyzeSequence(results, true)
}

// AnalyzeSequenceOrder is AnalyzeSequence for results in an order that
// came from order (Order*): the steps are taken to feed each other only
// when the order is one of dataflow (Dataflow).
func AnalyzeSequenceOrder(results []Result, order string) Sequence {
	return analyzeSequence(results, Dataflow(order, results))
}

// Dataflow reports whether results in an order from order are steps of
// one computation, each feeding the next: the order was given (--order,
// refcmp.order), or it is guessed (the container's insertion order, a
// natural sort of names) and fewer than half of the names are those of
// parameters (".weight", ".bias", a norm's running statistics): a dump of
// activations rather than a checkpoint, whose tensors are independent.
func Dataflow(order string, results []Result) bool {
	switch order {
	case OrderFile, OrderMetadata:
		return true
	case OrderSingle:
		return false
	}
	params := 0
	for _, r := range results {
		n := r.Name
		if i := strings.LastIndexAny(n, "./"); i >= 0 {
			n = n[i+1:]
		}
		switch n {
		case "weight", "bias", "running_mean", "running_var", "num_batches_tracked", "inv_freq":
			params++
		}
	}
	return 2*params < len(results)
}

// namesCause reports whether a hint kind names a cause (a formulation,
// layout or dtype), as opposed to describing the error (noise, the
// tolerance, no known cause, where the mismatches lie).
func namesCause(kind string) bool {
	switch kind {
	case TensorHintUnexplained, TensorHintNoise, TensorHintTolerance, TensorHintConfined, TensorHintBorder, TensorHintShape, "":
		return false
	}
	return true
}

// primaryKind is a result's primary hint kind, "" without hints.
func primaryKind(r *Result) string {
	if len(r.Hints) == 0 {
		return ""
	}
	return r.Hints[0].Kind
}

func analyzeSequence(results []Result, dataflow bool) Sequence {
	n := len(results)
	s := Sequence{Steps: n, FirstFailure: -1, Step: -1, Levels: make([]tensor.Float, n)}
	name := func(i int) string { return results[i].Name }
	lv := make([]float64, n)
	nanStep := -1
	for i := range results {
		lv[i] = stepLevel(&results[i])
		s.Levels[i] = tensor.Float(lv[i])
		if s.FirstFailure < 0 && !results[i].Pass {
			s.FirstFailure = i
		}
		if nanStep < 0 && results[i].Introduced > 0 {
			nanStep = i
		}
	}
	at := func(i int) string { return fmt.Sprintf("step %d (%s)", i, name(i)) }
	if s.FirstFailure < 0 {
		s.Profile = ProfileClean
		s.Summary = fmt.Sprintf("clean: all %d steps pass", n)
		if hi := maxFinite(lv); !math.IsInf(hi, -1) {
			s.Evidence = "largest " + levelText(hi)
		}
		return s
	}
	f := s.FirstFailure
	s.FirstFailureName = name(f)
	s.Independent = !dataflow
	firstKind := primaryKind(&results[f])
	for i := f + 1; i < n; i++ {
		if results[i].Pass {
			continue
		}
		s.LaterFailures++
		if k := primaryKind(&results[i]); namesCause(k) && (!dataflow || k != firstKind) {
			s.OwnCause = append(s.OwnCause, i)
		}
	}
	if f > 0 && dataflow {
		s.LookAt = fmt.Sprintf("the op between step %d (%s), which passes, and step %d (%s), the first that fails", f-1, name(f-1), f, name(f))
	}
	s.Consequences = consequences(s, dataflow)
	before := fmt.Sprintf("first failure at %s; %s", at(f), passedBefore(f))
	nanNote := ""
	if nanStep >= 0 {
		nanNote = fmt.Sprintf("; NaN/Inf introduced from %s (%s)", at(nanStep), plural(int(results[nanStep].Introduced), "element", "elements"))
	}
	if nanStep == f {
		s.Profile, s.Step = ProfileNaN, f
		s.Summary = "NaN/Inf from " + at(f)
		s.Evidence = before + nanNote
		if e := results[f].FirstIntroduced; e != nil {
			s.Evidence += fmt.Sprintf(", first at %s (ref %s)", fmtIndex(e.Index), FormatValue(float64(e.Ref)))
		}
		return s
	}

	// Levels for the shape analysis: up to the first NaN step; exact
	// matches count as far below everything else.
	end := n
	if nanStep >= 0 {
		end = nanStep
	}
	var fin []float64
	for _, x := range lv[:end] {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			fin = append(fin, x)
		}
	}
	floor := -20.0
	if len(fin) > 0 {
		floor = slices.Min(fin) - 3
	}
	level := func(i int) float64 {
		x := lv[i]
		if math.IsInf(x, -1) {
			return floor
		}
		return x
	}

	// The biggest jump over the running maximum of earlier steps.
	jump, jumpAt := math.Inf(-1), -1
	prior := math.Inf(-1)
	for i := 0; i < end; i++ {
		x := level(i)
		if math.IsNaN(x) {
			continue
		}
		// A jump is where it goes wrong only at a failing step: passing
		// float noise rising over bit-exact steps is no jump.
		if i >= f && !results[i].Pass && !math.IsInf(prior, -1) && x-prior > jump {
			jump, jumpAt = x-prior, i
		}
		prior = max(prior, x)
	}
	// The overall rise: median of the last third minus that of the first.
	var third []float64
	var lvs []float64
	for i := 0; i < end; i++ {
		// Exact matches stay out of the trend: bit-exact lookups before
		// float arithmetic starts are no rising error.
		if x := lv[i]; !math.IsNaN(x) && !math.IsInf(x, 0) {
			lvs = append(lvs, x)
		}
	}
	rise, ups := 0.0, 0
	if k := len(lvs) / 3; k >= 1 {
		third = slices.Clone(lvs[:k])
		lo := median(third)
		third = slices.Clone(lvs[len(lvs)-k:])
		rise = median(third) - lo
		for i := 1; i < len(lvs); i++ {
			if lvs[i] > lvs[i-1] {
				ups++
			}
		}
	}
	switch {
	case jumpAt >= 0 && jump >= jumpDecades && jump >= 0.5*rise:
		s.Profile, s.Step = ProfileJump, jumpAt
		s.Summary = "sudden jump at " + at(jumpAt)
		if jumpAt > f {
			s.Summary = "first failure at " + at(f) + "; sudden jump later at " + at(jumpAt)
		}
		s.Evidence = fmt.Sprintf("%s; max|diff| rises %.1f decades over every earlier step (to %s)", before, jump, levelText(lv[jumpAt]))
	case len(lvs) >= 3 && rise >= 1 && 2*ups >= len(lvs)-1:
		s.Profile = ProfileGrowth
		s.Summary = "first failure at " + at(f) + "; gradual growth: the error accumulates along the sequence"
		s.Evidence = fmt.Sprintf("%s; median log10 max|diff| rises %.1f decades from the first third to the last; it rises at %d of %d steps",
			before, rise, ups, len(lvs)-1)
	default:
		s.Profile = ProfileSteady
		s.Summary = "failing at a steady level from " + at(f)
		s.Evidence = fmt.Sprintf("%s; no jump of %g decades and no growing trend (%s)", before, jumpDecades, riseText(rise))
	}
	s.Evidence += nanNote
	return s
}

// consequences words the later failures: with dataflow, those that name
// no cause of their own (or the first failure's) as consistent with
// propagation from it, and the others as findings of their own; without,
// every one as independent.
func consequences(s Sequence, dataflow bool) string {
	f, own := s.FirstFailure, len(s.OwnCause)
	steps := func() string {
		var b strings.Builder
		for i, st := range s.OwnCause {
			if i == 5 {
				b.WriteString(", …")
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprint(&b, st)
		}
		return b.String()
	}
	if s.LaterFailures == 0 {
		return ""
	}
	if !dataflow {
		out := fmt.Sprintf("%s also %s; the order is not an execution order (no --order or refcmp.order, and the names are a checkpoint's parameters), so each is its own finding, not a consequence",
			plural(s.LaterFailures, "later tensor", "later tensors"), map[bool]string{true: "differs", false: "differ"}[s.LaterFailures == 1])
		if own > 0 {
			out += fmt.Sprintf("; %d name a cause (steps %s)", own, steps())
		}
		return out
	}
	prop := s.LaterFailures - own
	var parts []string
	if prop > 0 {
		parts = append(parts, fmt.Sprintf("%s also %s, consistent with propagation from step %d",
			plural(prop, "later tensor", "later tensors"), map[bool]string{true: "differs", false: "differ"}[prop == 1], f))
	}
	if own > 0 {
		parts = append(parts, fmt.Sprintf("%s %s a cause of %s own (steps %s): %s, not only a consequence",
			plural(own, "later tensor", "later tensors"), map[bool]string{true: "names", false: "name"}[own == 1],
			map[bool]string{true: "its", false: "their"}[own == 1], steps(), map[bool]string{true: "an independent finding", false: "independent findings"}[own == 1]))
	}
	return strings.Join(parts, "; ")
}

func median(x []float64) float64 {
	slices.Sort(x)
	m := len(x) / 2
	if len(x)%2 == 1 {
		return x[m]
	}
	return (x[m-1] + x[m]) / 2
}

func maxFinite(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			m = max(m, v)
		}
	}
	return m
}

// sparkBars are the eight levels of a sparkline.
const sparkBars = "▁▂▃▄▅▆▇█"

// Sparkline renders levels (Sequence.Levels) as one line: finite levels
// as bars ▁..█ scaled between the lowest and highest (a range of at
// least one decade), '·' for an exact match (-Inf), '!' where NaN/Inf was
// introduced (+Inf) and '?' where nothing compares (NaN).
func Sparkline(levels []tensor.Float) string {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, l := range levels {
		if x := float64(l); x-x == 0 {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	if hi-lo < 1 {
		hi = lo + 1
	}
	bars := []rune(sparkBars)
	var b strings.Builder
	for _, l := range levels {
		x := float64(l)
		switch {
		case math.IsNaN(x):
			b.WriteRune('?')
		case math.IsInf(x, 1):
			b.WriteRune('!')
		case math.IsInf(x, -1):
			b.WriteRune('·')
		default:
			i := int(math.Round((x - lo) / (hi - lo) * float64(len(bars)-1)))
			b.WriteRune(bars[max(0, min(len(bars)-1, i))])
		}
	}
	return b.String()
}
