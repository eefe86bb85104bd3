package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/fileio"
	"github.com/refcmp/refcmp/tensorfile"
)

// tensorSide is one opened input of `refcmp tensors`.
type tensorSide struct {
	label   string // "REF" or "OURS"
	arg     string // as given, PATH or PATH:NAME
	path    string
	member  string // NAME of PATH:NAME, or ""
	c       *tensorfile.Container
	tensors []diffing.Tensor
	// single is true for one tensor to compare directly, whatever its
	// name: a single-tensor file, or a member chosen with PATH:NAME.
	single bool
}

func (s *tensorSide) close() {
	if s != nil {
		s.c.Close()
	}
}

// openSide opens one input, PATH or PATH:NAME. PATH:NAME selects a member
// when no file called PATH:NAME exists but PATH does.
func openSide(label, arg string, opts tensorfile.Options) (*tensorSide, error) {
	s := &tensorSide{label: label, arg: arg, path: arg}
	if _, err := os.Stat(arg); err != nil {
		if i := strings.LastIndexByte(arg, ':'); i > 0 && i < len(arg)-1 {
			if _, perr := os.Stat(arg[:i]); perr == nil {
				s.path, s.member = arg[:i], arg[i+1:]
			}
		}
	}
	c, err := tensorfile.Open(s.path, opts)
	if err != nil {
		return nil, err
	}
	s.c = c
	s.tensors = c.Tensors
	s.single = c.Single
	if s.member != "" {
		i := slices.IndexFunc(c.Tensors, func(t diffing.Tensor) bool { return t.Name == s.member })
		if i < 0 {
			c.Close()
			return nil, fmt.Errorf("%s: no tensor %q in %s (it holds %s)", arg, s.member, s.path, nameList(c.Tensors, 8))
		}
		s.tensors = c.Tensors[i : i+1]
		s.single = true
	}
	return s, nil
}

// nameList writes up to max tensor names for an error message.
func nameList(ts []diffing.Tensor, max int) string {
	if len(ts) == 0 {
		return "no tensors"
	}
	var names []string
	for i, t := range ts {
		if i == max {
			names = append(names, fmt.Sprintf("… %d more", len(ts)-max))
			break
		}
		names = append(names, fmt.Sprintf("%q", t.Name))
	}
	return strings.Join(names, ", ")
}

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
	orderSource string // see sequenceReport.Order
	notes       []string
}

// pairTensors pairs the two sides: two single tensors (or a single tensor
// and a container of one) directly, containers by name after the name
// rules.
func pairTensors(ref, ours *tensorSide, rules diffing.NameRules) (*pairPlan, error) {
	p := &pairPlan{refOnly: []string{}, oursOnly: []string{}, ignoredRef: []string{}, ignoredOurs: []string{}, notes: []string{}}
	if ref.single || ours.single {
		if len(ref.tensors) == 1 && len(ours.tensors) == 1 {
			p.pairs = []tensorPair{{ref: 0, ours: 0, name: ref.tensors[0].Name}}
			p.orderSource = orderSingle
			return p, nil
		}
		one, many := ref, ours
		if !ref.single {
			one, many = ours, ref
		}
		return nil, usagef("%s %s is one tensor but %s %s holds %d (%s); name the one to compare as %s:NAME",
			one.label, one.arg, many.label, many.arg, len(many.tensors), nameList(many.tensors, 5), many.path)
	}

	refIdx := map[string]int{}
	for i, t := range ref.tensors {
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
	for j, t := range ours.tensors {
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
			p.notes = append(p.notes, fmt.Sprintf("OURS %q and %q both map to %q; the first was compared", ours.tensors[k].Name, t.Name, mapped))
			continue
		}
		oursFor[mapped] = j
	}
	for i, t := range ref.tensors {
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

// Where an execution order came from (sequenceReport.Order,
// inspectReport.Order, Golden.Order).
const (
	orderSingle    = "single"    // one pair
	orderFile      = "file"      // --order FILE
	orderMetadata  = "metadata"  // refcmp.order in a safetensors __metadata__
	orderInsertion = "insertion" // the container's own order (.npz, .pt)
	orderNatural   = "natural"   // natural sort of names
)

// order sorts the pairs into execution order (see tensorsDoc).
func (p *pairPlan) order(ref, ours *tensorSide, fileOrder []string, orderPath string) error {
	if p.orderSource == orderSingle {
		return nil
	}
	byList := func(names []string, what string, oursNames bool) {
		if oursNames { // name each pair by its REF name
			refName := map[string]string{} // OURS name -> REF name of its pair
			for _, q := range p.pairs {
				refName[ours.tensors[q.ours].Name] = q.name
			}
			names = slices.Clone(names)
			for i, n := range names {
				if r, ok := refName[n]; ok {
					names[i] = r
				}
			}
		}
		missing := sortByNames(p.pairs, func(q tensorPair) string { return q.name }, names)
		if missing > 0 {
			p.notes = append(p.notes, fmt.Sprintf("%s does not name %s; %s last, in natural order",
				what, plural(missing, "compared tensor", "compared tensors"), map[bool]string{true: "it comes", false: "they come"}[missing == 1]))
		}
	}
	switch {
	case fileOrder != nil:
		p.orderSource = orderFile
		byList(fileOrder, "--order "+orderPath, false)
	case ref.c.Order != nil:
		p.orderSource = orderMetadata
		byList(ref.c.Order, "REF's refcmp.order", false)
	case ours.c.Order != nil:
		p.orderSource = orderMetadata
		byList(ours.c.Order, "OURS's refcmp.order", true)
	case ref.c.Ordered:
		p.orderSource = orderInsertion
		slices.SortStableFunc(p.pairs, func(a, b tensorPair) int { return a.ref - b.ref })
	case ours.c.Ordered:
		p.orderSource = orderInsertion
		slices.SortStableFunc(p.pairs, func(a, b tensorPair) int { return a.ours - b.ours })
	default:
		p.orderSource = orderNatural
		slices.SortStableFunc(p.pairs, func(a, b tensorPair) int { return naturalCompare(a.name, b.name) })
	}
	return nil
}

// naturalCompare orders names naturally (layers.2 before layers.10),
// then bytewise.
func naturalCompare(a, b string) int {
	switch {
	case diffing.NaturalLess(a, b):
		return -1
	case diffing.NaturalLess(b, a):
		return 1
	}
	return strings.Compare(a, b)
}

// sortByNames sorts xs stably by where their names first stand in names;
// those names leaves out come last, in natural order. It returns how
// many it leaves out.
func sortByNames[T any](xs []T, name func(T) string, names []string) (missing int) {
	pos := map[string]int{}
	for i, n := range names {
		if _, dup := pos[n]; !dup {
			pos[n] = i
		}
	}
	for _, x := range xs {
		if _, ok := pos[name(x)]; !ok {
			missing++
		}
	}
	slices.SortStableFunc(xs, func(a, b T) int {
		pa, oka := pos[name(a)]
		pb, okb := pos[name(b)]
		switch {
		case oka && okb:
			return pa - pb
		case oka:
			return -1
		case okb:
			return 1
		}
		return naturalCompare(name(a), name(b))
	})
	return missing
}

// maxOrderFile bounds an --order file (a million names fit in 64 MiB).
const maxOrderFile = 64 << 20

// readOrderFile reads --order FILE: a JSON list of names, or one name per
// line (blank lines and lines starting with # skipped).
func readOrderFile(path string) ([]string, error) {
	data, err := fileio.ReadFile(path, maxOrderFile, "an --order file")
	if err != nil {
		return nil, err
	}
	text := strings.TrimSpace(string(data))
	if strings.HasPrefix(text, "[") {
		var names []string
		if err := json.Unmarshal([]byte(text), &names); err != nil {
			return nil, fmt.Errorf("%s: not a JSON list of names: %v", path, err)
		}
		return names, nil
	}
	names := []string{}
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		names = append(names, l)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no names (want one REF name per line, or a JSON list)", path)
	}
	return names, nil
}

// compareAll compares every pair, in order, and builds the report.
func compareAll(a *app, p *pairPlan, ref, ours *tensorSide, set tensorsSettings, progressMode string) (tensorsReport, error) {
	rep := newTensorsReport(ref, ours, p)
	rep.NameHints = nameHints(ref, ours, p, set.rules)
	var total int64
	for _, q := range p.pairs {
		total += dataBytes(ref.tensors[q.ref]) + dataBytes(ours.tensors[q.ours])
	}
	bar := newProgress(a, progressMode, total)
	defer bar.finish()
	var done int64
	for _, q := range p.pairs {
		rt, ot := ref.tensors[q.ref], ours.tensors[q.ours]
		tol := set.tol.Resolve(q.name, rt.DType, ot.DType)
		base := done
		res, err := diffing.CompareWith(rt, ot, tol, diffing.Options{Progress: func(n int64) { bar.set(base + n) }})
		if err != nil {
			var uerr *usageError
			if errors.As(err, &uerr) {
				return rep, err
			}
			return rep, fmt.Errorf("%s vs %s: %w", ref.arg, ours.arg, err)
		}
		done += dataBytes(rt) + dataBytes(ot)
		bar.set(done)
		res.Name, res.OursName = q.name, ot.Name
		rep.Tensors = append(rep.Tensors, res)
	}
	rep.finish()
	return rep, nil
}

// nameHints explains names found on one side only with the header-level
// hints of 'refcmp weights': a renamed prefix or component (with the
// --map that fixes it), fused or stacked tensors, the closest name.
func nameHints(ref, ours *tensorSide, p *pairPlan, rules diffing.NameRules) []diffing.Hint {
	out := []diffing.Hint{}
	if len(p.refOnly) == 0 || len(p.oursOnly) == 0 {
		return out
	}
	listing := func(s *tensorSide) diffing.Listing {
		l := diffing.Listing{Source: s.arg}
		for _, t := range s.tensors {
			l.Weights = append(l.Weights, diffing.Weight{Name: t.Name, DType: t.DType, Shape: t.Shape})
		}
		return l
	}
	rep := diffing.DiffWeights(listing(ref), listing(ours), diffing.WeightsOptions{Rules: rules, IgnoreDType: true})
	for _, h := range rep.Hints {
		switch h.Kind {
		case diffing.HintPrefix, diffing.HintRename, diffing.HintFused, diffing.HintSplit,
			diffing.HintStacked, diffing.HintUnstacked, diffing.HintClosest:
			out = append(out, h)
		}
	}
	return out
}

// dataBytes is the size of a tensor's data.
func dataBytes(t diffing.Tensor) int64 {
	n := t.Numel()
	if n < 0 {
		return 0
	}
	return n * int64(t.DType.Size())
}
