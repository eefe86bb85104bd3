package weights

import (
	"slices"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/tensor"
)

// Verification of a suggested --map: every hint that suggests a rule
// checks that the rule, with those before it, pairs names and breaks none.

// state maps every loaded name with the user's rules, the suggestions so
// far and extra.
func (h *hintState) state(extra ...names.MapRule) nameState {
	rules := names.NameRules{Maps: slices.Concat(h.opts.Rules.Maps, h.sugg, extra), Ignore: h.opts.Rules.Ignore}
	expIgnored := map[string]bool{}
	for _, n := range h.rep.Ignored.Expected {
		expIgnored[n] = true
	}
	ws := make([]tensor.Info, len(h.lds))
	for i, e := range h.lds {
		ws[i] = e.w
	}
	st := nameState{count: map[string]int{}, first: map[string]int{}}
	for i, e := range mapLoaded(ws, rules, expIgnored) {
		if e.ignored {
			continue
		}
		st.count[e.mapped]++
		switch st.count[e.mapped] {
		case 1:
			st.first[e.mapped] = i
		case 2:
			st.collisions++
		}
	}
	return st
}

func (h *hintState) refreshNames() {
	h.unexpNames = make([]string, len(h.unexpIdx))
	for i, j := range h.unexpIdx {
		h.unexpNames[i] = names.ApplyMaps(h.sugg, h.lds[j].mapped)
	}
}

// accept adds rule to the suggestions.
func (h *hintState) accept(rule names.MapRule) {
	h.sugg = append(h.sugg, rule)
	h.cur = h.state()
	h.refreshNames()
}

// verify re-runs the name pairing with rule added to the user's rules and
// the suggestions so far. It returns the expected names that were missing
// and are now found, and false when the rule breaks anything: an expected
// weight found before is no longer found, or more loaded names collide.
func (h *hintState) verify(rule names.MapRule) (map[string]bool, bool) {
	after := h.state(rule)
	if after.collisions > h.cur.collisions {
		return nil, false
	}
	fixed := map[string]bool{}
	for _, w := range h.exp {
		before, now := h.cur.count[w.Name] > 0, after.count[w.Name] > 0
		if before && !now {
			return nil, false
		}
		if now && !before {
			fixed[w.Name] = true
		}
	}
	return fixed, len(fixed) > 0
}

// pairsFixedBy pairs open missing and unexpected rows that rule brings
// together. fixed comes from verify.
func (h *hintState) pairsFixedBy(rule names.MapRule, fixed map[string]bool) [][2]int {
	missIdx := map[string]int{}
	for _, i := range h.openMissing() {
		missIdx[h.rep.Missing[i].Name] = i
	}
	var pairs [][2]int
	for _, j := range h.openUnexpected() {
		n := rule.Pattern.ReplaceAllString(h.unexpW(j).Name, rule.Replacement)
		if i, ok := missIdx[n]; ok && fixed[n] {
			pairs = append(pairs, [2]int{i, j})
		}
	}
	slices.SortFunc(pairs, func(a, b [2]int) int { return a[0] - b[0] })
	return pairs
}

func mapFix(rule names.MapRule) (string, []string) {
	s := rule.String()
	return "--map " + names.Quote(s), []string{"--map", s}
}
