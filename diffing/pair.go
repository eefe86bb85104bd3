package diffing

import (
	"fmt"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/tensor"
)

// Input is one side of CompareAll: the tensors of one opened input, and
// what the report says about it.
type Input struct {
	Label  string // "REF" or "OURS", for messages
	Arg    string // as given, PATH or PATH:NAME
	Path   string // PATH
	Member string // NAME of PATH:NAME, or ""
	Format string // safetensors, npy, npz, pytorch-zip, ...
	Held   int    // tensors the file holds (Tensors may be one member of them)
	// Tensors are those to compare, in the file's order.
	Tensors []tensor.Tensor
	// Single is true for one tensor to compare directly, whatever its
	// name: a single-tensor file, or a member chosen with PATH:NAME.
	Single bool
	// Order is the file's own execution order (refcmp.order), nil when
	// it has none; Ordered says its insertion order is meaningful (.npz, .pt).
	Order   []string
	Ordered bool
	Notes   []string
}

// PairingError says two inputs cannot be paired: one tensor against a
// container of several. It is a mistake in how the inputs were named,
// not a difference.
type PairingError struct{ msg string }

func (e *PairingError) Error() string { return e.msg }

// Where an execution order came from (SequenceReport.Order, and the order
// of inspect and golden records).
const (
	OrderSingle    = "single"    // one pair
	OrderFile      = "file"      // --order FILE
	OrderMetadata  = "metadata"  // refcmp.order in a safetensors __metadata__
	OrderInsertion = "insertion" // the container's own order (.npz, .pt)
	OrderNatural   = "natural"   // natural sort of names
)

// tensorPair is one REF tensor and the OURS tensor it is compared with.
type tensorPair struct {
	ref, ours int    // indices into the sides' tensors
	name      string // the REF name
}

// pairPlan says what to compare, in execution order.
type pairPlan struct {
	pairs       []tensorPair
	refOnly     []string // REF names with no OURS tensor
	oursOnly    []string // OURS names (as in the file) with no REF tensor
	ignoredRef  []string
	ignoredOurs []string
	orderSource string // see SequenceReport.Order
	notes       []string
}

// NameList writes up to max tensor names for an error message.
func NameList(ts []tensor.Tensor, max int) string {
	if len(ts) == 0 {
		return "no tensors"
	}
	var out []string
	for i, t := range ts {
		if i == max {
			out = append(out, fmt.Sprintf("… %d more", len(ts)-max))
			break
		}
		out = append(out, fmt.Sprintf("%q", t.Name))
	}
	return strings.Join(out, ", ")
}

// pairTensors pairs the two sides: two single tensors (or a single tensor
// and a container of one) directly, containers by name after the name
// rules.
func pairTensors(ref, ours *Input, rules names.NameRules) (*pairPlan, error) {
	p := &pairPlan{refOnly: []string{}, oursOnly: []string{}, ignoredRef: []string{}, ignoredOurs: []string{}, notes: []string{}}
	if ref.Single || ours.Single {
		if len(ref.Tensors) == 1 && len(ours.Tensors) == 1 {
			p.pairs = []tensorPair{{ref: 0, ours: 0, name: ref.Tensors[0].Name}}
			p.orderSource = OrderSingle
			return p, nil
		}
		one, many := ref, ours
		if !ref.Single {
			one, many = ours, ref
		}
		return nil, &PairingError{fmt.Sprintf("%s %s is one tensor but %s %s holds %d (%s); name the one to compare as %s:NAME",
			one.Label, one.Arg, many.Label, many.Arg, len(many.Tensors), NameList(many.Tensors, 5), many.Path)}
	}

	oursNames := make([]string, len(ours.Tensors))
	for j, t := range ours.Tensors {
		oursNames[j] = t.Name
	}
	if err := rules.CheckMaps(oursNames); err != nil {
		return nil, fmt.Errorf("%s %s: %w", ours.Label, ours.Arg, err)
	}
	refIdx := map[string]int{}
	for i, t := range ref.Tensors {
		if rules.Ignored(t.Name) {
			p.ignoredRef = append(p.ignoredRef, t.Name)
			continue
		}
		if _, dup := refIdx[t.Name]; dup {
			p.notes = append(p.notes, fmt.Sprintf("REF holds %q twice; the first was compared", t.Name))
			continue
		}
		refIdx[t.Name] = i
	}
	oursFor := map[string]int{} // REF name -> OURS index
	for j, t := range ours.Tensors {
		mapped, ignored := rules.Map(t.Name)
		if ignored {
			p.ignoredOurs = append(p.ignoredOurs, t.Name)
			continue
		}
		if _, ok := refIdx[mapped]; !ok {
			if rules.Ignored(mapped) {
				p.ignoredOurs = append(p.ignoredOurs, t.Name)
				continue
			}
			p.oursOnly = append(p.oursOnly, t.Name)
			continue
		}
		if k, dup := oursFor[mapped]; dup {
			p.oursOnly = append(p.oursOnly, t.Name)
			p.notes = append(p.notes, fmt.Sprintf("OURS %q and %q both map to %q; the first was compared", ours.Tensors[k].Name, t.Name, mapped))
			continue
		}
		oursFor[mapped] = j
	}
	for i, t := range ref.Tensors {
		if k, ok := refIdx[t.Name]; !ok || k != i {
			continue
		}
		if j, ok := oursFor[t.Name]; ok {
			p.pairs = append(p.pairs, tensorPair{ref: i, ours: j, name: t.Name})
		} else {
			p.refOnly = append(p.refOnly, t.Name)
		}
	}
	return p, nil
}

// order sorts the pairs into execution order: fileOrder (from orderWhat,
// e.g. "--order FILE"), else REF's then OURS's refcmp.order, else REF's
// then OURS's insertion order, else a natural sort of REF names.
func (p *pairPlan) order(ref, ours *Input, fileOrder []string, orderWhat string) {
	if p.orderSource == OrderSingle {
		return
	}
	byList := func(ns []string, what string, oursNames bool) {
		if oursNames { // name each pair by its REF name
			refName := map[string]string{} // OURS name -> REF name of its pair
			for _, q := range p.pairs {
				refName[ours.Tensors[q.ours].Name] = q.name
			}
			ns = slices.Clone(ns)
			for i, n := range ns {
				if r, ok := refName[n]; ok {
					ns[i] = r
				}
			}
		}
		missing := names.SortByList(p.pairs, func(q tensorPair) string { return q.name }, ns)
		if missing > 0 {
			p.notes = append(p.notes, fmt.Sprintf("%s does not name %s; %s last, in natural order",
				what, plural(missing, "compared tensor", "compared tensors"), map[bool]string{true: "it comes", false: "they come"}[missing == 1]))
		}
	}
	switch {
	case fileOrder != nil:
		p.orderSource = OrderFile
		byList(fileOrder, orderWhat, false)
	case ref.Order != nil:
		p.orderSource = OrderMetadata
		byList(ref.Order, "REF's refcmp.order", false)
	case ours.Order != nil:
		p.orderSource = OrderMetadata
		byList(ours.Order, "OURS's refcmp.order", true)
	case ref.Ordered:
		p.orderSource = OrderInsertion
		slices.SortStableFunc(p.pairs, func(a, b tensorPair) int { return a.ref - b.ref })
	case ours.Ordered:
		p.orderSource = OrderInsertion
		slices.SortStableFunc(p.pairs, func(a, b tensorPair) int { return a.ours - b.ours })
	default:
		p.orderSource = OrderNatural
		slices.SortStableFunc(p.pairs, func(a, b tensorPair) int { return tensor.NaturalCompare(a.name, b.name) })
	}
}

// ExecOrder returns ts in execution order, as CompareAll orders one side:
// order (refcmp.order; names it does not list come last, in natural
// order), else the insertion order when ordered, else a natural sort of
// names. It says where the order came from (Order*), with a note when
// order leaves tensors out.
func ExecOrder(ts []tensor.Tensor, order []string, ordered, single bool) (out []tensor.Tensor, source string, notes []string) {
	out = slices.Clone(ts)
	name := func(t tensor.Tensor) string { return t.Name }
	switch {
	case single || len(out) <= 1:
		return out, OrderSingle, nil
	case order != nil:
		if missing := names.SortByList(out, name, order); missing > 0 {
			notes = append(notes, fmt.Sprintf("refcmp.order does not name %s; listed last, in natural order", plural(missing, "tensor", "tensors")))
		}
		return out, OrderMetadata, notes
	case ordered:
		return out, OrderInsertion, nil
	}
	slices.SortStableFunc(out, func(a, b tensor.Tensor) int { return tensor.NaturalCompare(a.Name, b.Name) })
	return out, OrderNatural, nil
}

// plural writes "1 tensor" or "3 tensors".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprint(n) + " " + many
}
