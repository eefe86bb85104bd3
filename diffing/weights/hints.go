package weights

import (
	"fmt"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/tensor"
)

// hintKindOrder is the order hints are listed in.
var hintKindOrder = []string{
	HintPrefix, HintRename, HintTied, HintFused, HintSplit, HintStacked, HintUnstacked,
	HintTransposed, HintReshaped, HintResized, HintClosest, HintDType,
}

// hintState tracks which missing and unexpected rows a hint explains,
// and the --map rules suggested so far: later hints work on names with
// the earlier suggestions applied, so that all suggested fixes together,
// in order, are verified.
type hintState struct {
	*weightsDiff
	words      Words
	missDone   []bool
	unexpDone  []bool
	hints      []Hint
	sugg       []names.MapRule // accepted suggestions, applied after the user's rules
	cur        nameState       // pairing under the user's rules plus sugg
	unexpNames []string        // unexpected rows' names under the user's rules plus sugg
	long       int             // rows left out of the name hints for their names' length
}

// nameState is the result of mapping every loaded name.
type nameState struct {
	count      map[string]int // mapped name -> loaded weights (not ignored) mapping to it
	first      map[string]int // mapped name -> index in lds of the first
	collisions int
}

func (d *weightsDiff) hints(pre map[string]string) {
	h := d.newHintState(pre)
	h.nameFamilies()
	h.tiedHints()
	h.shapeHints()
	h.dtypeHints()
	d.rep.Hints = append(d.rep.Hints, h.sorted()...)
	for _, hint := range d.rep.Hints {
		d.rep.FixArgs = append(d.rep.FixArgs, hint.FixArgs...)
	}
	quoted := make([]string, len(d.rep.FixArgs))
	for i, a := range d.rep.FixArgs {
		quoted[i] = a
		if !strings.HasPrefix(a, "--") {
			quoted[i] = names.Quote(a)
		}
	}
	d.rep.Fix = strings.Join(quoted, " ")
}

// newHintState starts the hints of d; pre holds the missing rows --tied
// already explained, by name.
func (d *weightsDiff) newHintState(pre map[string]string) *hintState {
	h := &hintState{
		weightsDiff: d,
		words:       WeightsWords(),
		missDone:    make([]bool, len(d.rep.Missing)),
		unexpDone:   make([]bool, len(d.rep.Unexpected)),
	}
	for i, row := range d.rep.Missing {
		h.missDone[i] = pre[row.Name] != ""
	}
	h.cur = h.state()
	h.refreshNames()
	// Names over maxHintName bytes take part in no hint: the name
	// algorithms are linear or quadratic in a name's length.
	for i, row := range d.rep.Missing {
		if len(row.Name) > maxHintName && !h.missDone[i] {
			h.missDone[i] = true
			h.long++
		}
	}
	for j := range h.unexpDone {
		if len(h.unexpNames[j]) > maxHintName || len(h.unexpLoadedName(j)) > maxHintName {
			h.unexpDone[j] = true
			h.long++
		}
	}
	return h
}

// maxHintName is the longest name the name hints consider, in bytes
// (docs/limits.md).
const maxHintName = 4096

// nameFamilies runs the hints that pair missing and unexpected names:
// prefix, fused/split, stacked/unstacked, closest (and rename). The
// families run again, up to 3 rounds, while a round adds hints: each
// hint's fix is applied before the next (sugg), so a second prefix or
// rename that the first one hid is found too.
func (h *hintState) nameFamilies() {
	pairing := func() int { // hints that pair names (notes have none)
		n := 0
		for _, x := range h.hints {
			if len(x.Names) > 0 {
				n++
			}
		}
		return n
	}
	for round := 0; round < 3; round++ {
		n := pairing()
		h.prefixHints()
		h.fusedHints(false)
		h.fusedHints(true)
		h.stackedHints(false)
		h.stackedHints(true)
		h.closestHints()
		if pairing() == n || pairing() < len(h.hints) {
			break // nothing new, or a search ran out of budget: another round would only repeat it
		}
	}
	// A note of a skipped search is said once, however many rounds ran.
	seen := map[string]bool{}
	h.hints = slices.DeleteFunc(h.hints, func(x Hint) bool {
		if len(x.Names) > 0 {
			return false
		}
		k := x.Kind + "\x00" + x.Message
		dup := seen[k]
		seen[k] = true
		return dup
	})
	if h.long > 0 {
		h.hints = append(h.hints, Hint{
			Kind:    HintClosest,
			Message: fmt.Sprintf("%d %s over %d bytes took part in no name hint", h.long, plural(h.long, "name", "names"), maxHintName),
			Names:   []string{},
		})
	}
}

// sorted returns the hints found, in hintKindOrder (stable), each with
// its names deduplicated; never nil.
func (h *hintState) sorted() []Hint {
	out := append([]Hint{}, h.hints...)
	slices.SortStableFunc(out, func(a, b Hint) int {
		return slices.Index(hintKindOrder, a.Kind) - slices.Index(hintKindOrder, b.Kind)
	})
	for i := range out {
		out[i].Names = dedupe(out[i].Names)
	}
	return out
}

func (h *hintState) missW(i int) tensor.Info {
	r := h.rep.Missing[i]
	return tensor.Info{Name: r.Name, Shape: r.Shape, DType: r.DType}
}

// unexpW is the i-th unexpected weight under its mapped name (with the
// suggestions so far applied).
func (h *hintState) unexpW(i int) tensor.Info {
	e := h.lds[h.unexpIdx[i]]
	return tensor.Info{Name: h.unexpNames[i], Shape: e.w.Shape, DType: e.w.DType}
}

func (h *hintState) unexpLoadedName(i int) string { return h.lds[h.unexpIdx[i]].w.Name }

func (h *hintState) openMissing() []int {
	var out []int
	for i, done := range h.missDone {
		if !done {
			out = append(out, i)
		}
	}
	return out
}

func (h *hintState) openUnexpected() []int {
	var out []int
	for i, done := range h.unexpDone {
		if !done {
			out = append(out, i)
		}
	}
	return out
}

// ---- helpers ----

// maskNumbers replaces numeric components with '#'.
func maskNumbers(name string) string {
	comps := strings.Split(name, ".")
	for i, c := range comps {
		if _, ok := names.ParseIndex(c); ok {
			comps[i] = "#"
		}
	}
	return strings.Join(comps, ".")
}

// dedupe drops repeated strings, keeping the first of each.
func dedupe(names []string) []string {
	seen := map[string]bool{}
	out := names[:0:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

// joinFolded folds names and joins the patterns with ", ".
func joinFolded(ns []string) string {
	return strings.Join(names.FoldPatterns(ns), ", ")
}
