package weights

import (
	"fmt"
	"slices"

	"github.com/refcmp/refcmp/tensor"
)

// DType hints: an upcast, downcast or other float format, grouped by the
// dtype change.

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
