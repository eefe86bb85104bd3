package weights

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/tensor"
)

// Fused and split tensors (q/k/v in one qkv), stacked and unstacked
// experts or layers.

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
		for _, k := range siblingKeys(w.Name) {
			byKey[k.key] = append(byKey[k.key], p)
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
		for _, k := range siblingKeys(f.Name) {
			c := k.c
			// A fused tensor joins a few siblings; a key shared by many
			// names (e.g. "*.weight") is no sibling group.
			siblings := byKey[k.key]
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
			if n, num := names.ParseIndex(comps[c]); num {
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

// siblingKey is a name with its non-numeric component c blanked.
type siblingKey struct {
	c   int
	key string
}

// siblingKeys are a name's keys, one per non-numeric component: the
// names that share one differ only in that component (q_proj, k_proj).
func siblingKeys(name string) []siblingKey {
	comps := strings.Split(name, ".")
	var out []siblingKey
	for c := range comps {
		if _, num := names.ParseIndex(comps[c]); !num {
			out = append(out, siblingKey{c, blankKey(comps, c)})
		}
	}
	return out
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
