package tensorfile

import (
	"fmt"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// ExpertGaps compares each expert stack of GGUF listing l (preset p's
// stack rules) with the experts the Hugging Face side names (hf) for
// that layer and tensor, and returns one note per layer and kind of gap.
// Shapes alone cannot say which expert a short stack lost, so a stack
// holding fewer experts than HF names is said by count, with the
// position-wise guess marked as such; an expert the stack holds and HF
// lacks is named exactly.
func ExpertGaps(l tensor.Listing, p *gguf.Preset, hf []string) []string {
	type gap struct {
		layer  int
		held   int64
		hfN    int
		beyond []int // HF experts at or past the stack's end
		stacks []string
	}
	hfExperts := map[string][]int{} // GGUF stack name -> HF expert indices
	for _, h := range hf {
		if m, ok := p.ToGGUF(h); ok && m.Rule.Stack && m.Expert >= 0 {
			hfExperts[m.Name] = append(hfExperts[m.Name], m.Expert)
		}
	}
	var short []*gap
	var notes, extra []string
	for _, w := range l.Weights {
		m, ok := p.ToHF(w.Name)
		es := hfExperts[w.Name]
		if !ok || !m.Rule.Stack || len(w.Shape) < 2 || len(es) == 0 {
			continue
		}
		slices.Sort(es)
		es = slices.Compact(es)
		n := w.Shape[0]
		var lacking []string
		for e := int64(0); e < n; e++ {
			if _, found := slices.BinarySearch(es, int(e)); !found {
				lacking = append(lacking, fmt.Sprint(e))
			}
		}
		if len(lacking) > 0 {
			extra = append(extra, fmt.Sprintf("%s holds expert %s of layer %d, which the HF side lacks", w.Name, strings.Join(lacking, ", "), m.Layer))
		}
		if int64(len(es)) <= n-int64(len(lacking)) {
			continue
		}
		i := slices.IndexFunc(short, func(g *gap) bool { return g.layer == m.Layer && g.held == n && g.hfN == len(es) })
		if i < 0 {
			short = append(short, &gap{layer: m.Layer, held: n, hfN: len(es), beyond: slices.DeleteFunc(slices.Clone(es), func(e int) bool { return int64(e) < n })})
			i = len(short) - 1
		}
		short[i].stacks = append(short[i].stacks, w.Name)
	}
	for _, g := range short {
		k := int64(g.hfN) - g.held
		count, which := "one expert is missing", "expert %s is the one not in the stack"
		if k > 1 {
			count, which = fmt.Sprintf("%d experts are missing", k), "experts %s are the ones not in the stack"
		}
		pos := ""
		if len(g.beyond) > 0 {
			pos = "; by position, " + fmt.Sprintf(which, joinInts(g.beyond))
		}
		notes = append(notes, fmt.Sprintf("the stack of layer %d holds %d of %d experts: %s (the HF experts cannot all be matched%s) [%s]",
			g.layer, g.held, g.hfN, count, pos, strings.Join(g.stacks, ", ")))
	}
	return append(notes, extra...)
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}
