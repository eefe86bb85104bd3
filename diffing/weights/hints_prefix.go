package weights

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/tensor"
)

// Prefix hints: missing and unexpected names that pair after changing a
// common prefix (--map '^model\.=').

type prefixCand struct {
	strip, add string // loaded prefix (B) and expected prefix (A), each "" or ending in "."
	firsts     []string
	shortS     bool // some common suffix is a single component
	pairs      int
}

// Budgets of the prefix search (docs/limits.md): a suffix shared by more
// loaded prefixes than maxSuffixPrefixes pairs no names (each rule from
// it would pair one name), and at most prefixWork (missing, loaded)
// prefix pairs are counted in a round.
const (
	maxSuffixPrefixes = 256
	prefixWork        = 1 << 18
)

func (h *hintState) prefixHints() {
	var crowded, skipped int
	defer func() { h.prefixNote(crowded, skipped) }()
	for round := 0; round < 4; round++ {
		ok, c, s := h.prefixRound()
		if round == 0 {
			crowded, skipped = c, s
		}
		if !ok {
			return
		}
	}
}

// prefixNote says what the prefix search skipped, as a hint with no names.
func (h *hintState) prefixNote(crowded, skipped int) {
	var parts []string
	if crowded > 0 {
		parts = append(parts, fmt.Sprintf("%d common %s shared by over %d loaded prefixes each", crowded, plural(crowded, "suffix", "suffixes"), maxSuffixPrefixes))
	}
	if skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d missing %s after the search's budget ran out", skipped, plural(skipped, "name", "names")))
	}
	if len(parts) == 0 {
		return
	}
	h.hints = append(h.hints, Hint{
		Kind:    HintPrefix,
		Message: "prefix changes were not searched for " + strings.Join(parts, " and "),
		Names:   []string{},
	})
}

// prefixRound suggests one prefix rule, if it finds one. crowded counts
// the suffixes set aside as shared by too many prefixes, skipped the
// missing rows left when the work budget ran out.
func (h *hintState) prefixRound() (found bool, crowded, skipped int) {
	miss, unexp := h.openMissing(), h.openUnexpected()
	if len(miss) == 0 || len(unexp) == 0 {
		return false, 0, 0
	}
	bySuffix := map[string][]string{} // common suffix -> loaded prefixes
	for _, j := range unexp {
		for _, ps := range prefixSplits(h.unexpW(j).Name) {
			bySuffix[ps[1]] = append(bySuffix[ps[1]], ps[0])
		}
	}
	for s, bs := range bySuffix {
		if len(bs) > maxSuffixPrefixes {
			crowded++
			delete(bySuffix, s)
		}
	}
	work := prefixWork
	cands := map[[2]string]*prefixCand{}
	for k, i := range miss {
		splits := prefixSplits(h.rep.Missing[i].Name)
		for _, ps := range splits {
			work -= len(bySuffix[ps[1]])
		}
		if work < 0 {
			skipped = len(miss) - k
			break
		}
		for _, ps := range splits {
			a, s := ps[0], ps[1]
			for _, b := range bySuffix[s] {
				if a == b {
					continue
				}
				k := [2]string{b, a}
				c := cands[k]
				if c == nil {
					c = &prefixCand{strip: b, add: a}
					cands[k] = c
				}
				c.pairs++
				first, _, more := strings.Cut(s, ".")
				if !more {
					c.shortS = true
				}
				if !slices.Contains(c.firsts, first) {
					c.firsts = append(c.firsts, first)
				}
			}
		}
	}
	// The 8 best candidates, in order: most pairs first, then the shorter
	// prefixes. Kept in a small sorted slice rather than sorting them all.
	better := func(x, y *prefixCand) int {
		return cmp.Or(
			cmp.Compare(y.pairs, x.pairs),
			cmp.Compare(len(x.strip)+len(x.add), len(y.strip)+len(y.add)),
			cmp.Compare(x.add, y.add),
			cmp.Compare(x.strip, y.strip),
		)
	}
	const top = 8
	list := make([]*prefixCand, 0, top+1)
	for _, c := range cands {
		if len(list) == top && better(c, list[top-1]) >= 0 {
			continue
		}
		at, _ := slices.BinarySearchFunc(list, c, better)
		list = slices.Insert(list, at, c)
		if len(list) > top {
			list = list[:top]
		}
	}
	for _, c := range list {
		for _, rule := range prefixRules(c) {
			fixed, ok := h.verify(rule)
			if !ok {
				continue
			}
			pairs := h.pairsFixedBy(rule, fixed)
			if len(pairs) == 0 {
				continue
			}
			h.emitPairHint(HintPrefix, h.words.prefixMessage(c, len(pairs)), rule, pairs)
			return true, crowded, skipped
		}
	}
	return false, crowded, skipped
}

// prefixSplits splits a name into (prefix, rest) at its first up to three
// dots, keeping the whole name as a rest with an empty prefix. Prefixes
// with numeric components are skipped (a rule for them would fit one
// layer), and so are rests of one component behind a nonempty prefix
// (they pair unrelated names such as a.weight and b.weight).
func prefixSplits(name string) [][2]string {
	out := [][2]string{{"", name}}
	comps := strings.Split(name, ".")
	for k := 1; k <= 3 && k < len(comps)-1; k++ {
		if _, num := names.ParseIndex(comps[k-1]); num {
			break
		}
		out = append(out, [2]string{strings.Join(comps[:k], ".") + ".", strings.Join(comps[k:], ".")})
	}
	return out
}

// prefixRules gives the --map rules to try for a candidate: the plain one
// first, then one limited to the first components seen, so that names
// that already pair stay untouched.
func prefixRules(c *prefixCand) []names.MapRule {
	var out []names.MapRule
	add := strings.ReplaceAll(c.add, "$", "$$")
	if re, err := regexp.Compile("^" + regexp.QuoteMeta(c.strip)); err == nil {
		out = append(out, names.MapRule{Pattern: re, Replacement: add})
	}
	firsts := slices.Clone(c.firsts)
	slices.Sort(firsts)
	for i, f := range firsts {
		firsts[i] = regexp.QuoteMeta(f)
	}
	tail := `\.`
	if c.shortS {
		tail = `(?:\.|$)`
	}
	alt := strings.Join(firsts, "|")
	if len(firsts) > 1 {
		alt = "(?:" + alt + ")"
	}
	if re, err := regexp.Compile("^" + regexp.QuoteMeta(c.strip) + "(" + alt + tail + ")"); err == nil {
		out = append(out, names.MapRule{Pattern: re, Replacement: add + "${1}"})
	}
	return out
}

func (w Words) prefixMessage(c *prefixCand, n int) string {
	what := w.count(n)
	switch {
	case c.strip == "":
		return fmt.Sprintf("%s without the prefix %q", what, c.add)
	case c.add == "":
		return fmt.Sprintf("%s with an extra prefix %q", what, c.strip)
	default:
		return fmt.Sprintf("%s with the prefix %q instead of %q", what, c.strip, c.add)
	}
}

// emitPairHint records a hint that pairs missing rows with unexpected rows
// through a verified --map rule.
func (h *hintState) emitPairHint(kind, msg string, rule names.MapRule, pairs [][2]int) {
	fix, args := mapFix(rule)
	hint := Hint{Kind: kind, Message: msg, Fix: fix, FixArgs: args}
	var loadedNames []string
	for _, p := range pairs {
		i, j := p[0], p[1]
		h.missDone[i], h.unexpDone[j] = true, true
		ln := h.unexpLoadedName(j)
		after := ""
		if es, ls := h.rep.Missing[i].Shape, h.unexpW(j).Shape; es != nil && ls != nil && !slices.Equal(es, ls) {
			if _, msg := shapeHint(es, ls); msg != "" {
				after = "; then its shape differs: " + msg
			} else {
				after = fmt.Sprintf("; then its shape differs: loaded %s, expected %s", tensor.FormatShape(ls), tensor.FormatShape(es))
			}
		}
		h.rep.Missing[i].Hint = fmt.Sprintf("loaded as %s; %s%s", ln, fix, after)
		h.rep.Unexpected[j].Hint = fmt.Sprintf("expected as %s; %s%s", h.rep.Missing[i].Name, fix, after)
		hint.Names = append(hint.Names, h.rep.Missing[i].Name)
		loadedNames = append(loadedNames, ln)
	}
	hint.Names = append(hint.Names, loadedNames...)
	h.hints = append(h.hints, hint)
	h.accept(rule)
}
