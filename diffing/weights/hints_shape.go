package weights

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/tensor"
)

// Shape mismatch hints: transposed, permuted, reshaped, resized.

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
