package weights

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing/names"
)

// Closest names and component renames (--map '\.attn\.=.self_attn.').

type closePair struct {
	miss, unexp int
	dist        float64
}

func (h *hintState) closestHints() {
	miss, unexp := h.openMissing(), h.openUnexpected()
	if len(miss) == 0 || len(unexp) == 0 {
		return
	}
	// Only names with the same numeric components pair up.
	bySig := map[string][]int{}
	ucomps := map[int][]string{}
	for _, j := range unexp {
		n := h.unexpW(j).Name
		bySig[numericSig(n)] = append(bySig[numericSig(n)], j)
		ucomps[j] = strings.Split(n, ".")
	}
	// Bound the work on huge flat listings: at most closeBudget distances
	// and closeCells character comparisons, taken in row order.
	budget, cells := closeBudget, int64(closeCells)
	skipped := 0
	var pairs []closePair
	for k, i := range miss {
		m := h.missW(i)
		cands := bySig[numericSig(m.Name)]
		if budget -= len(cands); budget < 0 || cells < 0 {
			skipped = len(miss) - k
			break
		}
		rowStart := len(pairs)
		mc := strings.Split(m.Name, ".")
		for _, j := range cands {
			u, uc := h.unexpW(j), ucomps[j]
			// Close: within a quarter of the components (at least 1, plus
			// 1/2 when the shapes are known and equal), and under half.
			n := float64(max(len(mc), len(uc)))
			limit := max(1.0, 0.25*n)
			sameShape := m.Shape != nil && u.Shape != nil && slices.Equal(m.Shape, u.Shape)
			if sameShape {
				limit += 0.5
			}
			// Each component inserted or deleted costs 1: names whose
			// component counts differ by more than the limit are not close.
			if d := float64(abs(len(mc) - len(uc))); d > limit || d >= 0.5*n {
				continue
			}
			if cells -= int64(len(m.Name)) * int64(len(u.Name)); cells < 0 {
				break
			}
			dist := compDistance(mc, uc, limit)
			if dist > limit || dist >= 0.5*n {
				continue
			}
			if m.Shape != nil && u.Shape != nil && !sameShape {
				dist += 0.25
			}
			pairs = append(pairs, closePair{i, j, dist})
		}
		if cells < 0 {
			// Out of budget inside this row: its closest is unknown.
			pairs = pairs[:rowStart]
			skipped = len(miss) - k
			break
		}
	}
	// Keep a pair when each is the other's closest, clearly: the next
	// candidate of either is at least 0.1 further.
	const gap = 0.1
	inf := math.Inf(1)
	type best struct{ d1, d2 float64 }
	bm, bu := map[int]*best{}, map[int]*best{}
	note := func(m map[int]*best, k int, d float64) {
		b := m[k]
		if b == nil {
			b = &best{inf, inf}
			m[k] = b
		}
		switch {
		case d < b.d1:
			b.d1, b.d2 = d, b.d1
		case d < b.d2:
			b.d2 = d
		}
	}
	for _, p := range pairs {
		note(bm, p.miss, p.dist)
		note(bu, p.unexp, p.dist)
	}
	var chosen []closePair
	for _, p := range pairs {
		m, u := bm[p.miss], bu[p.unexp]
		if p.dist == m.d1 && p.dist == u.d1 && m.d2-p.dist >= gap && u.d2-p.dist >= gap {
			chosen = append(chosen, p)
		}
	}
	slices.SortFunc(chosen, func(a, b closePair) int { return a.miss - b.miss })
	defer h.closeNote(skipped)

	// Offer a --map for a component rename only when the names are nearly
	// equal (a typo or spelling: distance <= 1/3) or the same rename pairs
	// weights of several roles (q_proj, k_proj... all under attn ->
	// self_attn). A rename seen in one role only, between names that are
	// merely alike, stays a closest-name hint: names alone cannot tell
	// attention_norm from post_attention_layernorm.
	type rgroup struct {
		rule     names.MapRule
		from, to string
		pairs    []closePair
		roles    map[string]bool
		near     bool
	}
	rgroups := map[string]*rgroup{}
	var rorder []string
	for _, p := range chosen {
		rule, from, to, ok := renameRule(h.missW(p.miss).Name, h.unexpW(p.unexp).Name)
		if !ok {
			continue
		}
		k := rule.String()
		if rgroups[k] == nil {
			rgroups[k] = &rgroup{rule: rule, from: from, to: to, roles: map[string]bool{}, near: true}
			rorder = append(rorder, k)
		}
		g := rgroups[k]
		g.pairs = append(g.pairs, p)
		g.roles[maskNumbers(h.rep.Missing[p.miss].Name)] = true
		g.near = g.near && p.dist <= 1.0/3+1e-9
	}
	for n, k := range rorder {
		if n >= 32 {
			break
		}
		g := rgroups[k]
		if !g.near && len(g.roles) < 2 {
			continue
		}
		fixed, ok := h.verify(g.rule)
		if !ok {
			continue
		}
		all := true
		for _, p := range g.pairs {
			if !fixed[h.rep.Missing[p.miss].Name] {
				all = false
			}
		}
		if !all {
			continue
		}
		fixedPairs := h.pairsFixedBy(g.rule, fixed)
		if len(fixedPairs) == 0 {
			continue
		}
		from, to := g.from, g.to
		msg := fmt.Sprintf("%s with %q where %s has %q", h.words.count(len(fixedPairs)), from, h.words.Reference, to)
		h.emitPairHint(HintRename, msg, g.rule, fixedPairs)
	}

	// The rest: closest-name hints, merged across layers.
	type cgroup struct {
		expNames, loadedNames []string
	}
	cgroups := map[string]*cgroup{}
	var corder []string
	for _, p := range chosen {
		if h.missDone[p.miss] || h.unexpDone[p.unexp] {
			continue
		}
		h.missDone[p.miss], h.unexpDone[p.unexp] = true, true
		mn, ln := h.rep.Missing[p.miss].Name, h.unexpLoadedName(p.unexp)
		h.rep.Missing[p.miss].Hint = "closest loaded name: " + ln
		h.rep.Unexpected[p.unexp].Hint = "closest expected name: " + mn
		key := maskNumbers(mn) + "\x00" + maskNumbers(ln)
		if cgroups[key] == nil {
			cgroups[key] = &cgroup{}
			corder = append(corder, key)
		}
		cgroups[key].expNames = append(cgroups[key].expNames, mn)
		cgroups[key].loadedNames = append(cgroups[key].loadedNames, ln)
	}
	for _, k := range corder {
		g := cgroups[k]
		h.hints = append(h.hints, Hint{
			Kind:    HintClosest,
			Message: fmt.Sprintf("%s %s %s %s", h.words.Missing, joinFolded(g.expNames), h.words.MayBe, joinFolded(g.loadedNames)),
			Names:   append(slices.Clone(g.expNames), g.loadedNames...),
		})
	}
}

// Budgets of the closest-name search (docs/limits.md).
const (
	closeBudget = 200_000   // name pairs compared
	closeCells  = 256 << 20 // character pairs compared (len(a)*len(b) summed)
)

// closeNote says how many missing rows the closest-name search left when
// its budget ran out, as a hint with no names.
func (h *hintState) closeNote(skipped int) {
	if skipped == 0 {
		return
	}
	h.hints = append(h.hints, Hint{
		Kind:    HintClosest,
		Message: fmt.Sprintf("closest names were not searched for %d missing %s: the search's budget ran out", skipped, plural(skipped, "name", "names")),
		Names:   []string{},
	})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// numericSig is the sequence of numeric components of a name.
func numericSig(name string) string {
	var b strings.Builder
	for _, c := range strings.Split(name, ".") {
		if _, ok := names.ParseIndex(c); ok {
			b.WriteString(c)
			b.WriteByte('.')
		}
	}
	return b.String()
}

// compDistance is an edit distance over dotted components: inserting or
// deleting a component costs 1, replacing one costs the character edit
// distance divided by the longer length (1 for two different numbers).
// It stops early, returning a value over limit, once every partial
// distance of a row is over limit (a row's minimum never decreases).
func compDistance(a, b []string, limit float64) float64 {
	prev := make([]float64, len(b)+1)
	cur := make([]float64, len(b)+1)
	for j := range prev {
		prev[j] = float64(j)
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = float64(i)
		rowMin := cur[0]
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1] + compSubst(a[i-1], b[j-1])
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
			rowMin = min(rowMin, cur[j])
		}
		if rowMin > limit {
			return math.Inf(1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func compSubst(a, b string) float64 {
	if a == b {
		return 0
	}
	_, an := names.ParseIndex(a)
	_, bn := names.ParseIndex(b)
	if an || bn {
		return 1
	}
	n := max(len(a), len(b))
	d, _ := names.EditDistance(a, b, n)
	return float64(d) / float64(n)
}

// renameRule builds a --map rule that turns the loaded name's differing
// run of components into the expected one's, e.g.
// `\.attention\.wq\.` = `.self_attn.q_proj.`. Numeric components inside
// the run become (\d+) and carry over, so that one rule fits every layer:
// `^layers\.(\d+)\.moe\.` = `model.layers.${1}.block_sparse_moe.`; when
// the two runs do not hold the same numbers in the same order there is no
// rule. from and to are the runs with numbers written N, for messages.
func renameRule(expected, loaded string) (rule names.MapRule, from, to string, ok bool) {
	e, l := strings.Split(expected, "."), strings.Split(loaded, ".")
	p := 0
	for p < len(e) && p < len(l) && e[p] == l[p] {
		p++
	}
	s := 0
	for s < len(e)-p && s < len(l)-p && e[len(e)-1-s] == l[len(l)-1-s] {
		s++
	}
	if len(e)-p-s == 0 || len(l)-p-s == 0 {
		// Pure insertion or deletion: widen by one shared component.
		switch {
		case s > 0:
			s--
		case p > 0:
			p--
		default:
			return names.MapRule{}, "", "", false
		}
	}
	fromC, toC := l[p:len(l)-s], e[p:len(e)-s]
	var nf, nt []string
	pat, repl := []string{}, []string{}
	fromW, toW := slices.Clone(fromC), slices.Clone(toC)
	for i, c := range fromC {
		if _, num := names.ParseIndex(c); num {
			nf = append(nf, c)
			pat = append(pat, `(\d+)`)
			fromW[i] = "N"
		} else {
			pat = append(pat, regexp.QuoteMeta(c))
		}
	}
	for i, c := range toC {
		if _, num := names.ParseIndex(c); num {
			nt = append(nt, c)
			repl = append(repl, "${"+strconv.Itoa(len(nt))+"}")
			toW[i] = "N"
		} else {
			repl = append(repl, strings.ReplaceAll(c, "$", "$$"))
		}
	}
	if !slices.Equal(nf, nt) {
		return names.MapRule{}, "", "", false
	}
	re, rp := strings.Join(pat, `\.`), strings.Join(repl, ".")
	if p > 0 {
		re, rp = `\.`+re, "."+rp
	} else {
		re = "^" + re
	}
	if s > 0 {
		re, rp = re+`\.`, rp+"."
	} else {
		re += "$"
	}
	rx, err := regexp.Compile(re)
	if err != nil {
		return names.MapRule{}, "", "", false
	}
	return names.MapRule{Pattern: rx, Replacement: rp}, strings.Join(fromW, "."), strings.Join(toW, "."), true
}
