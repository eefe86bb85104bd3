package diffing

import (
	"cmp"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

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
	missDone   []bool
	unexpDone  []bool
	hints      []Hint
	sugg       []MapRule // accepted suggestions, applied after the user's rules
	cur        nameState // pairing under the user's rules plus sugg
	unexpNames []string  // unexpected rows' names under the user's rules plus sugg
}

// nameState is the result of mapping every loaded name.
type nameState struct {
	count      map[string]int // mapped name -> loaded weights (not ignored) mapping to it
	first      map[string]int // mapped name -> index in lds of the first
	collisions int
}

func (d *weightsDiff) hints(pre map[string]string) {
	h := &hintState{
		weightsDiff: d,
		missDone:    make([]bool, len(d.rep.Missing)),
		unexpDone:   make([]bool, len(d.rep.Unexpected)),
	}
	for i, row := range d.rep.Missing {
		h.missDone[i] = pre[row.Name] != ""
	}
	h.cur = h.state()
	h.refreshNames()
	h.prefixHints()
	h.fusedHints(false)
	h.fusedHints(true)
	h.stackedHints(false)
	h.stackedHints(true)
	h.closestHints()
	h.tiedHints()
	h.shapeHints()
	h.dtypeHints()
	slices.SortStableFunc(h.hints, func(a, b Hint) int {
		return slices.Index(hintKindOrder, a.Kind) - slices.Index(hintKindOrder, b.Kind)
	})
	for i := range h.hints {
		h.hints[i].Names = dedupe(h.hints[i].Names)
	}
	d.rep.Hints = append(d.rep.Hints, h.hints...)
	for _, hint := range d.rep.Hints {
		d.rep.FixArgs = append(d.rep.FixArgs, hint.FixArgs...)
	}
	quoted := make([]string, len(d.rep.FixArgs))
	for i, a := range d.rep.FixArgs {
		quoted[i] = a
		if !strings.HasPrefix(a, "--") {
			quoted[i] = shellQuote(a)
		}
	}
	d.rep.Fix = strings.Join(quoted, " ")
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

// ---- verification of a suggested --map ----

// state maps every loaded name with the user's rules, the suggestions so
// far and extra.
func (h *hintState) state(extra ...MapRule) nameState {
	rules := NameRules{Maps: slices.Concat(h.opts.Rules.Maps, h.sugg, extra), Ignore: h.opts.Rules.Ignore}
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
		h.unexpNames[i] = applyMaps(h.sugg, h.lds[j].mapped)
	}
}

// accept adds rule to the suggestions.
func (h *hintState) accept(rule MapRule) {
	h.sugg = append(h.sugg, rule)
	h.cur = h.state()
	h.refreshNames()
}

// verify re-runs the name pairing with rule added to the user's rules and
// the suggestions so far. It returns the expected names that were missing
// and are now found, and false when the rule breaks anything: an expected
// weight found before is no longer found, or more loaded names collide.
func (h *hintState) verify(rule MapRule) (map[string]bool, bool) {
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
func (h *hintState) pairsFixedBy(rule MapRule, fixed map[string]bool) [][2]int {
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

func mapFix(rule MapRule) (string, []string) {
	s := rule.String()
	return "--map " + shellQuote(s), []string{"--map", s}
}

// ---- prefix ----

type prefixCand struct {
	strip, add string // loaded prefix (B) and expected prefix (A), each "" or ending in "."
	firsts     []string
	shortS     bool // some common suffix is a single component
	pairs      int
}

func (h *hintState) prefixHints() {
	for round := 0; round < 4; round++ {
		if !h.prefixRound() {
			return
		}
	}
}

func (h *hintState) prefixRound() bool {
	miss, unexp := h.openMissing(), h.openUnexpected()
	if len(miss) == 0 || len(unexp) == 0 {
		return false
	}
	bySuffix := map[string][]string{} // common suffix -> loaded prefixes
	for _, j := range unexp {
		for _, ps := range prefixSplits(h.unexpW(j).Name) {
			bySuffix[ps[1]] = append(bySuffix[ps[1]], ps[0])
		}
	}
	cands := map[[2]string]*prefixCand{}
	for _, i := range miss {
		for _, ps := range prefixSplits(h.rep.Missing[i].Name) {
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
	list := make([]*prefixCand, 0, len(cands))
	for _, c := range cands {
		list = append(list, c)
	}
	slices.SortFunc(list, func(x, y *prefixCand) int {
		return cmp.Or(
			cmp.Compare(y.pairs, x.pairs),
			cmp.Compare(len(x.strip)+len(x.add), len(y.strip)+len(y.add)),
			cmp.Compare(x.add, y.add),
			cmp.Compare(x.strip, y.strip),
		)
	})
	for n, c := range list {
		if n >= 8 {
			break
		}
		for _, rule := range prefixRules(c) {
			fixed, ok := h.verify(rule)
			if !ok {
				continue
			}
			pairs := h.pairsFixedBy(rule, fixed)
			if len(pairs) == 0 {
				continue
			}
			h.emitPairHint(HintPrefix, prefixMessage(c, len(pairs)), rule, pairs)
			return true
		}
	}
	return false
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
		if _, num := foldIndex(comps[k-1]); num {
			break
		}
		out = append(out, [2]string{strings.Join(comps[:k], ".") + ".", strings.Join(comps[k:], ".")})
	}
	return out
}

// prefixRules gives the --map rules to try for a candidate: the plain one
// first, then one limited to the first components seen, so that names
// that already pair stay untouched.
func prefixRules(c *prefixCand) []MapRule {
	var out []MapRule
	add := strings.ReplaceAll(c.add, "$", "$$")
	if re, err := regexp.Compile("^" + regexp.QuoteMeta(c.strip)); err == nil {
		out = append(out, MapRule{Pattern: re, Replacement: add})
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
		out = append(out, MapRule{Pattern: re, Replacement: add + "${1}"})
	}
	return out
}

func prefixMessage(c *prefixCand, n int) string {
	what := fmt.Sprintf("%d missing weights are", n)
	if n == 1 {
		what = "1 missing weight is"
	}
	switch {
	case c.strip == "":
		return fmt.Sprintf("%s loaded without the prefix %q", what, c.add)
	case c.add == "":
		return fmt.Sprintf("%s loaded with an extra prefix %q", what, c.strip)
	default:
		return fmt.Sprintf("%s loaded with the prefix %q instead of %q", what, c.strip, c.add)
	}
}

// emitPairHint records a hint that pairs missing rows with unexpected rows
// through a verified --map rule.
func (h *hintState) emitPairHint(kind, msg string, rule MapRule, pairs [][2]int) {
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

// ---- tied output head ----

var headParents = map[string]bool{
	"lm_head": true, "output": true, "embed_out": true, "head": true, "output_layer": true,
	"decoder": true, "logits": true, "proj_out": true, "out_proj_head": true,
}

var embedParents = map[string]bool{
	"embed_tokens": true, "wte": true, "word_embeddings": true, "tok_embeddings": true,
	"embed_in": true, "token_embedding": true, "shared": true, "embedding": true,
	"embeddings": true, "embed": true, "tok_emb": true, "token_embd": true, "emb": true,
}

// parentComp returns the component before a final "weight", or "".
func parentComp(name string) string {
	comps := strings.Split(name, ".")
	if len(comps) < 2 || comps[len(comps)-1] != "weight" {
		return ""
	}
	return comps[len(comps)-2]
}

func (h *hintState) tiedHints() {
	var embeds []tensor.Info // expected embeddings that are loaded
	for _, w := range h.exp {
		if !embedParents[parentComp(w.Name)] {
			continue
		}
		if h.cur.count[w.Name] > 0 {
			embeds = append(embeds, w)
		}
	}
	if len(embeds) == 0 {
		return
	}
	for _, i := range h.openMissing() {
		m := h.missW(i)
		if !headParents[parentComp(m.Name)] {
			continue
		}
		for _, e := range embeds {
			l := h.lds[h.cur.first[e.Name]].w
			known := m.Shape != nil && e.Shape != nil
			if known && (len(m.Shape) != 2 || !slices.Equal(m.Shape, e.Shape)) {
				continue
			}
			if m.Shape != nil && l.Shape != nil && !slices.Equal(m.Shape, l.Shape) {
				continue
			}
			var msg string
			if known {
				msg = fmt.Sprintf("%s is missing and has the embedding's shape %s: the port likely ties it to %s",
					m.Name, tensor.FormatShape(m.Shape), e.Name)
			} else {
				msg = fmt.Sprintf("%s is missing and %s is loaded (shapes unknown): the port may tie them", m.Name, e.Name)
			}
			pair := TiedPair{Name: m.Name, Other: e.Name}.String()
			fix := "--tied " + shellQuote(pair)
			h.hints = append(h.hints, Hint{Kind: HintTied, Message: msg, Names: []string{m.Name, e.Name},
				Fix: fix, FixArgs: []string{"--tied", pair}})
			h.rep.Missing[i].Hint = "likely tied to " + e.Name + "; " + fix
			h.missDone[i] = true
			break
		}
	}
}

// ---- fused and split tensors ----

// maxFusedParts bounds the sibling tensors considered for one fused tensor.
const maxFusedParts = 16

// fusedHints looks for one tensor on one side that is several tensors of
// the other side concatenated along dim 0 or 1, named alike:
// loaded qkv_proj [q+k+v, d] for missing q_proj, k_proj, v_proj (fused),
// or the reverse (split, when split is true).
func (h *hintState) fusedHints(split bool) {
	var wholes, parts []int
	whole := func(i int) tensor.Info { return h.unexpW(i) }
	part := func(i int) tensor.Info { return h.missW(i) }
	wholes, parts = h.openUnexpected(), h.openMissing()
	if split {
		whole, part = part, whole
		wholes, parts = parts, wholes
	}
	if len(wholes) == 0 || len(parts) < 2 {
		return
	}
	// Index parts by their name with one non-numeric component blanked.
	byKey := map[string][]int{}
	for _, p := range parts {
		w := part(p)
		if len(w.Shape) == 0 {
			continue
		}
		comps := strings.Split(w.Name, ".")
		for c := range comps {
			if _, num := foldIndex(comps[c]); num {
				continue
			}
			byKey[blankKey(comps, c)] = append(byKey[blankKey(comps, c)], p)
		}
	}
	used := map[int]bool{}
	type group struct {
		desc, shape string
		rows        []string   // names of the whole tensors
		parts       [][]string // parts[k]: names of the k-th parts
	}
	groups := map[string]*group{}
	var order []string
	for _, wi := range wholes {
		f := whole(wi)
		if len(f.Shape) == 0 {
			continue
		}
		comps := strings.Split(f.Name, ".")
		for c := range comps {
			if _, num := foldIndex(comps[c]); num {
				continue
			}
			// A fused tensor joins a few siblings; a key shared by many
			// names (e.g. "*.weight") is no sibling group.
			siblings := byKey[blankKey(comps, c)]
			if len(siblings) < 2 || len(siblings) > maxFusedParts {
				continue
			}
			var cands []int
			for _, p := range siblings {
				if !used[p] {
					cands = append(cands, p)
				}
			}
			if len(cands) < 2 {
				continue
			}
			labels := make([]string, len(cands))
			shapes := make([][]int64, len(cands))
			for k, p := range cands {
				labels[k] = strings.Split(part(p).Name, ".")[c]
				shapes[k] = part(p).Shape
			}
			sel, dim := matchConcat(comps[c], labels, shapes, f.Shape)
			if sel == nil {
				continue
			}
			// Record rows.
			var sizes []string
			var selLabels []string
			off := int64(0)
			fusedName := f.Name
			if !split {
				fusedName = h.unexpLoadedName(wi)
			}
			partNames := make([]string, len(sel))
			for k, s := range sel {
				p := cands[s]
				used[p] = true
				pw := part(p)
				sz := pw.Shape[dim]
				sizes = append(sizes, strconv.FormatInt(sz, 10))
				selLabels = append(selLabels, labels[s])
				rowHint := fmt.Sprintf("part %d of %d of %s %s: [%d:%d] along dim %d",
					k+1, len(sel), sideWord(!split), fusedName, off, off+sz, dim)
				off += sz
				if split {
					h.unexpDone[p] = true
					h.rep.Unexpected[p].Hint = rowHint
					partNames[k] = h.unexpLoadedName(p)
				} else {
					h.missDone[p] = true
					h.rep.Missing[p].Hint = rowHint
					partNames[k] = pw.Name
				}
			}
			desc := fmt.Sprintf("%s concatenated along dim %d (%s)", strings.Join(selLabels, ", "), dim, strings.Join(sizes, "+"))
			if split {
				h.missDone[wi] = true
				h.rep.Missing[wi].Hint = "loaded split: " + desc
			} else {
				h.unexpDone[wi] = true
				h.rep.Unexpected[wi].Hint = "fuses " + desc
			}
			key := maskNumbers(f.Name) + "\x00" + desc + "\x00" + tensor.FormatShape(f.Shape)
			g := groups[key]
			if g == nil {
				g = &group{desc: desc, shape: tensor.FormatShape(f.Shape), parts: make([][]string, len(sel))}
				groups[key] = g
				order = append(order, key)
			}
			g.rows = append(g.rows, fusedName)
			for k := range sel {
				g.parts[k] = append(g.parts[k], partNames[k])
			}
			break
		}
	}
	for _, key := range order {
		g := groups[key]
		hint := Hint{Kind: HintFused}
		if split {
			hint.Kind = HintSplit
			hint.Message = fmt.Sprintf("expected %s %s is loaded as %s; concatenate them when loading or split the reference",
				joinFolded(g.rows), g.shape, g.desc)
		} else {
			hint.Message = fmt.Sprintf("loaded %s %s is %s; split it when exporting, or compare against the fused reference",
				joinFolded(g.rows), g.shape, g.desc)
		}
		var names []string
		if split {
			names = append(names, g.rows...)
			for _, p := range g.parts {
				names = append(names, p...)
			}
		} else {
			for _, p := range g.parts {
				names = append(names, p...)
			}
			names = append(names, g.rows...)
		}
		hint.Names = names
		h.hints = append(h.hints, hint)
	}
}

// stackedHints looks for one tensor on one side that stacks, along a new
// dim 0, the tensors of the other side that differ from it by one extra
// numeric component: loaded experts.w1.weight [8, 16, 8] for missing
// experts.{0..7}.w1.weight [16, 8] (stacked), or the reverse
// (unstacked). The indices must be exactly 0..n-1 and every part must
// have the stacked shape without its first dim.
func (h *hintState) stackedHints(reverse bool) {
	wholes, parts := h.openUnexpected(), h.openMissing()
	whole := func(i int) tensor.Info { return h.unexpW(i) }
	part := func(i int) tensor.Info { return h.missW(i) }
	if reverse {
		wholes, parts = parts, wholes
		whole, part = part, whole
	}
	if len(wholes) == 0 || len(parts) < 2 {
		return
	}
	type member struct{ idx, n int }
	byKey := map[string][]member{}
	for _, p := range parts {
		comps := strings.Split(part(p).Name, ".")
		for c := range comps {
			if n, num := foldIndex(comps[c]); num {
				k := strings.Join(slices.Concat(comps[:c:c], comps[c+1:]), ".")
				byKey[k] = append(byKey[k], member{p, n})
			}
		}
	}
	type group struct {
		desc  string
		rows  []string
		parts []string
	}
	groups := map[string]*group{}
	var order []string
	done := map[int]bool{}
	for _, wi := range wholes {
		f := whole(wi)
		ms := byKey[f.Name]
		if len(f.Shape) < 1 || len(ms) < 2 || f.Shape[0] != int64(len(ms)) {
			continue
		}
		seen := make([]bool, len(ms))
		ok := true
		for _, m := range ms {
			pw := part(m.idx)
			if done[m.idx] || m.n >= len(ms) || seen[m.n] || pw.Shape == nil || !slices.Equal(pw.Shape, f.Shape[1:]) {
				ok = false
				break
			}
			seen[m.n] = true
		}
		if !ok {
			continue
		}
		slices.SortFunc(ms, func(a, b member) int { return a.n - b.n })
		wholeName, partNames := f.Name, make([]string, len(ms))
		for k, m := range ms {
			done[m.idx] = true
			if reverse {
				partNames[k] = h.unexpLoadedName(m.idx)
				h.unexpDone[m.idx] = true
				h.rep.Unexpected[m.idx].Hint = fmt.Sprintf("slice %d of expected %s %s", m.n, wholeName, tensor.FormatShape(f.Shape))
			} else {
				partNames[k] = part(m.idx).Name
				h.missDone[m.idx] = true
			}
		}
		if !reverse {
			wholeName = h.unexpLoadedName(wi)
			for _, m := range ms {
				h.rep.Missing[m.idx].Hint = fmt.Sprintf("slice %d of loaded %s %s", m.n, wholeName, tensor.FormatShape(f.Shape))
			}
		}
		folded := joinFolded(partNames)
		desc := fmt.Sprintf("%d tensors %s stacked along a new dim 0", len(ms), tensor.FormatShape(f.Shape[1:]))
		if reverse {
			h.missDone[wi] = true
			h.rep.Missing[wi].Hint = "loaded unstacked as " + folded
		} else {
			h.unexpDone[wi] = true
			h.rep.Unexpected[wi].Hint = "stacks " + folded
		}
		key := maskNumbers(f.Name) + "\x00" + desc
		g := groups[key]
		if g == nil {
			g = &group{desc: desc}
			groups[key] = g
			order = append(order, key)
		}
		g.rows = append(g.rows, wholeName)
		g.parts = append(g.parts, partNames...)
	}
	for _, key := range order {
		g := groups[key]
		hint := Hint{Kind: HintStacked}
		if reverse {
			hint.Kind = HintUnstacked
			hint.Message = fmt.Sprintf("expected %s holds %s; the port loads them one by one as %s",
				joinFolded(g.rows), g.desc, joinFolded(g.parts))
			hint.Names = append(slices.Clone(g.rows), g.parts...)
		} else {
			hint.Message = fmt.Sprintf("loaded %s holds %s, expected one by one as %s",
				joinFolded(g.rows), g.desc, joinFolded(g.parts))
			hint.Names = append(slices.Clone(g.parts), g.rows...)
		}
		h.hints = append(h.hints, hint)
	}
}

func sideWord(loaded bool) string {
	if loaded {
		return "loaded"
	}
	return "expected"
}

func blankKey(comps []string, c int) string {
	k := slices.Clone(comps)
	k[c] = "\x00"
	return strings.Join(k, ".")
}

// matchConcat picks, among candidate parts, the ones whose concatenation
// along dim 0 or 1 has the fused shape. Parts whose label (the component
// that differs, e.g. "q_proj") shows up in the fused label ("qkv_proj")
// are tried first, in the order they appear there; otherwise any subset
// of up to 10 candidates in input order, if exactly one fits. Returns the
// indices of the selected parts in concatenation order, and the dim.
func matchConcat(fusedLabel string, labels []string, shapes [][]int64, fused []int64) ([]int, int) {
	// Name-plausible parts, ordered by where their stem occurs in the fused label.
	type pl struct{ idx, pos int }
	// Strip the suffix all labels share with the fused one ("_proj").
	suf := len(fusedLabel)
	for _, l := range labels {
		suf = min(suf, commonSuffix(l, fusedLabel))
	}
	fstem := fusedLabel[:len(fusedLabel)-suf]
	var plaus []pl
	for k, l := range labels {
		stem := strings.TrimRight(l[:len(l)-suf], "_")
		if stem == "" || stem == fstem {
			continue
		}
		if pos := strings.Index(fstem, stem); pos >= 0 {
			plaus = append(plaus, pl{k, pos})
		}
	}
	slices.SortStableFunc(plaus, func(a, b pl) int { return a.pos - b.pos })
	if len(plaus) >= 2 && len(plaus) <= 10 {
		idx := make([]int, len(plaus))
		for k, p := range plaus {
			idx[k] = p.idx
		}
		// Largest fitting subset, keeping the order.
		for size := len(idx); size >= 2; size-- {
			for _, sub := range subsets(len(idx), size) {
				sel := make([]int, len(sub))
				for k, s := range sub {
					sel[k] = idx[s]
				}
				if dim, ok := concatFits(sel, shapes, fused); ok {
					return sel, dim
				}
			}
		}
	}
	if len(labels) > 10 {
		return nil, 0
	}
	var found []int
	foundDim, nfound := 0, 0
	for size := len(labels); size >= 2 && nfound == 0; size-- {
		for _, sub := range subsets(len(labels), size) {
			if dim, ok := concatFits(sub, shapes, fused); ok {
				nfound++
				found, foundDim = sub, dim
			}
		}
	}
	if nfound == 1 {
		return found, foundDim
	}
	return nil, 0
}

// subsets lists the size-element subsets of 0..n-1 in lexicographic order.
func subsets(n, size int) [][]int {
	var out [][]int
	cur := make([]int, 0, size)
	var rec func(start int)
	rec = func(start int) {
		if len(cur) == size {
			out = append(out, slices.Clone(cur))
			return
		}
		for i := start; i <= n-(size-len(cur)); i++ {
			cur = append(cur, i)
			rec(i + 1)
			cur = cur[:len(cur)-1]
		}
	}
	rec(0)
	return out
}

func concatFits(sel []int, shapes [][]int64, fused []int64) (int, bool) {
	for dim := 0; dim < 2 && dim < len(fused); dim++ {
		sum := int64(0)
		ok := true
		for _, s := range sel {
			sh := shapes[s]
			if len(sh) != len(fused) || sh[dim] <= 0 {
				ok = false
				break
			}
			for k := range sh {
				if k != dim && sh[k] != fused[k] {
					ok = false
				}
			}
			sum += sh[dim]
			if sum > fused[dim] {
				ok = false
			}
		}
		if ok && sum == fused[dim] {
			return dim, true
		}
	}
	return 0, false
}

func commonSuffix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

// ---- shape mismatch hints ----

func (h *hintState) shapeHints() {
	type group struct {
		kind   string
		names  []string
		lnames []string
		msg    string
	}
	groups := map[string]*group{}
	var order []string
	for i := range h.rep.ShapeMismatch {
		row := &h.rep.ShapeMismatch[i]
		kind, rowMsg := shapeHint(row.ExpectedShape, row.LoadedShape)
		if kind == "" {
			continue
		}
		row.Hint = rowMsg
		key := kind + "\x00" + maskNumbers(row.Name) + "\x00" + rowMsg
		g := groups[key]
		if g == nil {
			g = &group{kind: kind, msg: rowMsg}
			groups[key] = g
			order = append(order, key)
		}
		g.names = append(g.names, row.Name)
		g.lnames = append(g.lnames, row.LoadedName)
	}
	for _, key := range order {
		g := groups[key]
		names := append(slices.Clone(g.names), g.lnames...)
		h.hints = append(h.hints, Hint{Kind: g.kind, Message: joinFolded(g.names) + ": " + g.msg, Names: names})
	}
}

// shapeHint classifies a shape mismatch: transposed (or permuted dims),
// reshaped (same element count), resized (one dimension differs).
func shapeHint(exp, got []int64) (string, string) {
	if len(exp) == len(got) && len(exp) >= 2 {
		if perm := permutation(exp, got); perm != nil {
			if len(exp) == 2 {
				return HintTransposed, fmt.Sprintf("transposed: loaded %s is expected %s with its dims swapped (PyTorch Linear stores [out, in])",
					tensor.FormatShape(got), tensor.FormatShape(exp))
			}
			ps := make([]string, len(perm))
			for i, p := range perm {
				ps[i] = strconv.Itoa(p)
			}
			return HintTransposed, fmt.Sprintf("dims permuted: loaded %s is expected %s permuted as (%s)",
				tensor.FormatShape(got), tensor.FormatShape(exp), strings.Join(ps, ", "))
		}
	}
	n, _ := tensor.Numel(exp)
	if ng, _ := tensor.Numel(got); n > 0 && n == ng {
		return HintReshaped, fmt.Sprintf("reshaped: same %d elements, loaded %s, expected %s", n, tensor.FormatShape(got), tensor.FormatShape(exp))
	}
	if len(exp) == len(got) {
		diff := -1
		for k := range exp {
			if exp[k] != got[k] {
				if diff >= 0 {
					return "", ""
				}
				diff = k
			}
		}
		if diff >= 0 {
			return HintResized, fmt.Sprintf("resized: dim %d is %d, expected %d (%+d)", diff, got[diff], exp[diff], got[diff]-exp[diff])
		}
	}
	return "", ""
}

// permutation returns perm with got[k] == exp[perm[k]], not the identity,
// or nil. Equal dims are matched in order.
func permutation(exp, got []int64) []int {
	if slices.Equal(exp, got) {
		return nil
	}
	used := make([]bool, len(exp))
	perm := make([]int, len(got))
	for k, g := range got {
		found := -1
		for j, e := range exp {
			if !used[j] && e == g {
				found = j
				break
			}
		}
		if found < 0 {
			return nil
		}
		used[found] = true
		perm[k] = found
	}
	return perm
}

// ---- closest names and component renames ----

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
	// Bound the work on huge flat listings: at most closeBudget distances,
	// taken in row order.
	const closeBudget = 200_000
	budget := closeBudget
	var pairs []closePair
	for _, i := range miss {
		m := h.missW(i)
		cands := bySig[numericSig(m.Name)]
		if budget -= len(cands); budget < 0 {
			break
		}
		mc := strings.Split(m.Name, ".")
		for _, j := range cands {
			u, uc := h.unexpW(j), ucomps[j]
			// Close: within a quarter of the components (at least 1, plus
			// 1/2 when the shapes are known and equal), and under half.
			dist := compDistance(mc, uc)
			n := float64(max(len(mc), len(uc)))
			limit := max(1.0, 0.25*n)
			sameShape := m.Shape != nil && u.Shape != nil && slices.Equal(m.Shape, u.Shape)
			if sameShape {
				limit += 0.5
			}
			if dist > limit || dist >= 0.5*n {
				continue
			}
			if m.Shape != nil && u.Shape != nil && !sameShape {
				dist += 0.25
			}
			pairs = append(pairs, closePair{i, j, dist})
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

	// Offer a --map for a component rename only when the names are nearly
	// equal (a typo or spelling: distance <= 1/3) or the same rename pairs
	// weights of several roles (q_proj, k_proj... all under attn ->
	// self_attn). A rename seen in one role only, between names that are
	// merely alike, stays a closest-name hint: names alone cannot tell
	// attention_norm from post_attention_layernorm.
	type rgroup struct {
		rule     MapRule
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
		msg := fmt.Sprintf("%d missing weights are loaded with %q where the reference has %q", len(fixedPairs), from, to)
		if len(fixedPairs) == 1 {
			msg = fmt.Sprintf("1 missing weight is loaded with %q where the reference has %q", from, to)
		}
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
			Message: fmt.Sprintf("missing %s may be loaded as %s", joinFolded(g.expNames), joinFolded(g.loadedNames)),
			Names:   append(slices.Clone(g.expNames), g.loadedNames...),
		})
	}
}

// numericSig is the sequence of numeric components of a name.
func numericSig(name string) string {
	var b strings.Builder
	for _, c := range strings.Split(name, ".") {
		if _, ok := foldIndex(c); ok {
			b.WriteString(c)
			b.WriteByte('.')
		}
	}
	return b.String()
}

// compDistance is an edit distance over dotted components: inserting or
// deleting a component costs 1, replacing one costs the character edit
// distance divided by the longer length (1 for two different numbers).
func compDistance(a, b []string) float64 {
	prev := make([]float64, len(b)+1)
	cur := make([]float64, len(b)+1)
	for j := range prev {
		prev[j] = float64(j)
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = float64(i)
		for j := 1; j <= len(b); j++ {
			sub := prev[j-1] + compSubst(a[i-1], b[j-1])
			cur[j] = min(sub, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func compSubst(a, b string) float64 {
	if a == b {
		return 0
	}
	_, an := foldIndex(a)
	_, bn := foldIndex(b)
	if an || bn {
		return 1
	}
	return float64(levenshtein(a, b)) / float64(max(len(a), len(b)))
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j-1]+c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// renameRule builds a --map rule that turns the loaded name's differing
// run of components into the expected one's, e.g.
// `\.attention\.wq\.` = `.self_attn.q_proj.`. Numeric components inside
// the run become (\d+) and carry over, so that one rule fits every layer:
// `^layers\.(\d+)\.moe\.` = `model.layers.${1}.block_sparse_moe.`; when
// the two runs do not hold the same numbers in the same order there is no
// rule. from and to are the runs with numbers written N, for messages.
func renameRule(expected, loaded string) (rule MapRule, from, to string, ok bool) {
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
			return MapRule{}, "", "", false
		}
	}
	fromC, toC := l[p:len(l)-s], e[p:len(e)-s]
	var nf, nt []string
	pat, repl := []string{}, []string{}
	fromW, toW := slices.Clone(fromC), slices.Clone(toC)
	for i, c := range fromC {
		if _, num := foldIndex(c); num {
			nf = append(nf, c)
			pat = append(pat, `(\d+)`)
			fromW[i] = "N"
		} else {
			pat = append(pat, regexp.QuoteMeta(c))
		}
	}
	for i, c := range toC {
		if _, num := foldIndex(c); num {
			nt = append(nt, c)
			repl = append(repl, "${"+strconv.Itoa(len(nt))+"}")
			toW[i] = "N"
		} else {
			repl = append(repl, strings.ReplaceAll(c, "$", "$$"))
		}
	}
	if !slices.Equal(nf, nt) {
		return MapRule{}, "", "", false
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
		return MapRule{}, "", "", false
	}
	return MapRule{Pattern: rx, Replacement: rp}, strings.Join(fromW, "."), strings.Join(toW, "."), true
}

// ---- dtype ----

func (h *hintState) dtypeHints() {
	type group struct {
		from, to tensor.DType
		names    []string
		lnames   []string
	}
	groups := map[[2]tensor.DType]*group{}
	var order [][2]tensor.DType
	allFloat := true
	for i := range h.rep.DTypeMismatch {
		row := &h.rep.DTypeMismatch[i]
		e, l := row.ExpectedDType, row.LoadedDType
		switch {
		case e.IsFloat() && l.IsFloat() && l.Size() > e.Size():
			row.Hint = "upcast: the port keeps a wider float type"
		case e.IsFloat() && l.IsFloat() && l.Size() < e.Size():
			row.Hint = "downcast: the port keeps a narrower float type"
		case e.IsFloat() && l.IsFloat():
			row.Hint = "same width, other float format"
		case e.IsFloat() != l.IsFloat():
			row.Hint = "float versus non-float: likely a different tensor or a quantized one"
			allFloat = false
		default:
			allFloat = false
		}
		k := [2]tensor.DType{e, l}
		if groups[k] == nil {
			groups[k] = &group{from: e, to: l}
			order = append(order, k)
		}
		groups[k].names = append(groups[k].names, row.Name)
		groups[k].lnames = append(groups[k].lnames, row.LoadedName)
	}
	for _, k := range order {
		g := groups[k]
		if len(g.names) < 2 {
			continue
		}
		hint := Hint{
			Kind:    HintDType,
			Message: fmt.Sprintf("%d weights are %s where the reference has %s", len(g.names), g.to, g.from),
			Names:   append(slices.Clone(g.names), g.lnames...),
		}
		if allFloat {
			hint.Fix, hint.FixArgs = "--ignore-dtype", []string{"--ignore-dtype"}
		}
		h.hints = append(h.hints, hint)
	}
}

// ---- helpers ----

// maskNumbers replaces numeric components with '#'.
func maskNumbers(name string) string {
	comps := strings.Split(name, ".")
	for i, c := range comps {
		if _, ok := foldIndex(c); ok {
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
func joinFolded(names []string) string {
	return strings.Join(FoldPatterns(names), ", ")
}
