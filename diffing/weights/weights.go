package weights

import (
	"fmt"
	"math"
	"slices"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/tensor"
)

// WeightsOptions are the settings of a weights diff.
type Options struct {
	Rules       names.NameRules  // --map (loaded names) and --ignore (both sides)
	Tied        []names.TiedPair // --tied pairs, in expected names
	IgnoreDType bool             // --ignore-dtype: report no dtype mismatches
}

// ParseWeightsOptions parses the repeated --map, --ignore and --tied flag
// values. Errors name the flag and the value.
func ParseOptions(maps, ignores, tied []string, ignoreDType bool) (Options, error) {
	rules, err := names.ParseNameRules(maps, ignores)
	if err != nil {
		return Options{}, err
	}
	o := Options{Rules: rules, IgnoreDType: ignoreDType}
	for _, s := range tied {
		p, err := names.ParseTied(s)
		if err != nil {
			return Options{}, err
		}
		o.Tied = append(o.Tied, p)
	}
	return o, nil
}

// WeightsReport is the result of a weights diff. It is plain data and its
// JSON encoding is refcmp's stable contract for `refcmp weights --format
// json`. Every list is non-nil, so it encodes as [] when empty.
//
// Order: rows about expected weights (missing, shape_mismatch,
// dtype_mismatch, tied) come in the expected listing's order; rows about
// loaded weights (unexpected, collisions) in the loaded listing's order;
// hints in a fixed order of kinds (see Hint), then by their first row.
// Names in JSON are never folded; Fold is for text output.
type Report struct {
	// Pass is true when nothing is missing, unexpected, mismatched or
	// colliding. Tied and ignored weights do not fail the diff.
	Pass     bool           `json:"pass"`
	Expected ListingSummary `json:"expected"`
	Loaded   ListingSummary `json:"loaded"`
	Counts   Counts         `json:"counts"`
	Options  OptionsEcho    `json:"options"`

	Missing       []Row           `json:"missing"`
	Unexpected    []Row           `json:"unexpected"`
	ShapeMismatch []ShapeMismatch `json:"shape_mismatch"`
	DTypeMismatch []DTypeMismatch `json:"dtype_mismatch"`
	// Tied lists expected weights accepted through --tied.
	Tied []TiedRow `json:"tied"`
	// Collisions lists expected names that several loaded weights map to.
	Collisions []Collision  `json:"collisions"`
	Ignored    IgnoredNames `json:"ignored"`
	Hints      []Hint       `json:"hints"`
	// Fix gathers the fixes of all hints, in order, as one command-line
	// fragment ("" when there are none), and FixArgs the same arguments.
	// The --map rules among them were verified together, each on top of
	// the ones before it.
	Fix     string   `json:"fix"`
	FixArgs []string `json:"fix_args"`
	// Matched lists the expected weights found among the loaded ones
	// (mismatched or not), in the expected listing's order, with the
	// loaded name each was found under. It is not part of the JSON
	// (Counts.Matched is); text output lists it with --all.
	Matched []Match `json:"-"`
}

// Match is an expected weight and the loaded weight it was paired with.
type Match struct {
	Name       string // expected name
	LoadedName string // as loaded, before --map
	Shape      []int64
	DType      tensor.DType
	// Colliding lists, when several loaded weights map to Name, all of
	// them as loaded (the Collision row's LoadedNames; LoadedName is the
	// first, the one compared); nil otherwise.
	Colliding []string
}

// ListingSummary describes one side of the diff.
type ListingSummary struct {
	Source  string `json:"source"`
	Tensors int    `json:"tensors"`
	// Parameters is the total element count of the weights whose shape is
	// known (saturating at the int64 maximum).
	Parameters int64 `json:"parameters"`
	// UnknownShapes counts weights the source gives no shape for.
	UnknownShapes int      `json:"unknown_shapes"`
	Notes         []string `json:"notes"`
}

// WeightsCounts are the sizes of the report's lists, for a verdict line.
type Counts struct {
	Matched         int `json:"matched"` // expected weights found under their name (mismatched or not)
	Missing         int `json:"missing"`
	Unexpected      int `json:"unexpected"`
	ShapeMismatch   int `json:"shape_mismatch"`
	DTypeMismatch   int `json:"dtype_mismatch"`
	Tied            int `json:"tied"`
	Collisions      int `json:"collisions"`
	IgnoredExpected int `json:"ignored_expected"`
	IgnoredLoaded   int `json:"ignored_loaded"`
}

// OptionsEcho repeats the settings the diff ran with.
type OptionsEcho struct {
	Map         []string `json:"map"`
	Ignore      []string `json:"ignore"`
	Tied        []string `json:"tied"`
	IgnoreDType bool     `json:"ignore_dtype"`
}

// Row is a missing weight (Name is the expected name) or an
// unexpected one (Name is the name as loaded; MappedName is set when
// --map rules changed it).
type Row struct {
	Name       string       `json:"name"`
	MappedName string       `json:"mapped_name,omitempty"`
	Shape      []int64      `json:"shape"` // null when the source gives none
	DType      tensor.DType `json:"dtype"` // "" when the source gives none
	Hint       string       `json:"hint"`  // "" when no hint explains this row
}

// ShapeMismatch is an expected weight loaded with another shape.
type ShapeMismatch struct {
	Name          string  `json:"name"`
	LoadedName    string  `json:"loaded_name"`
	ExpectedShape []int64 `json:"expected_shape"`
	LoadedShape   []int64 `json:"loaded_shape"`
	Hint          string  `json:"hint"`
}

// DTypeMismatch is an expected weight loaded with another dtype.
type DTypeMismatch struct {
	Name          string       `json:"name"`
	LoadedName    string       `json:"loaded_name"`
	ExpectedDType tensor.DType `json:"expected_dtype"`
	LoadedDType   tensor.DType `json:"loaded_dtype"`
	Hint          string       `json:"hint"`
}

// TiedRow is an expected weight absent from the loaded side but accepted
// because --tied ties it to TiedTo, which is loaded with the same shape.
type TiedRow struct {
	Name       string  `json:"name"`
	TiedTo     string  `json:"tied_to"`
	LoadedName string  `json:"loaded_name"` // the loaded weight TiedTo was found as
	Shape      []int64 `json:"shape"`
}

// Collision is an expected name that several loaded weights map to; the
// first is compared, the others are listed here.
type Collision struct {
	Name        string   `json:"name"`
	LoadedNames []string `json:"loaded_names"`
}

// IgnoredNames lists the weights --ignore patterns removed from each side.
type IgnoredNames struct {
	Expected []string `json:"expected"`
	Loaded   []string `json:"loaded"` // names as loaded
}

// Hint kinds, in the order hints are listed.
const (
	HintPrefix     = "prefix"     // missing and unexpected names pair after changing a common prefix
	HintRename     = "rename"     // one component rename pairs missing and unexpected names
	HintTied       = "tied"       // a missing output head has the embedding's shape
	HintFused      = "fused"      // one loaded tensor is several missing ones concatenated
	HintSplit      = "split"      // one missing tensor is several loaded ones concatenated
	HintStacked    = "stacked"    // one loaded tensor stacks indexed missing ones (experts.{0..7}.w1 as experts.w1 [8, ...])
	HintUnstacked  = "unstacked"  // one missing stacked tensor is loaded as indexed ones
	HintTransposed = "transposed" // loaded shape is a transpose (or dim permutation) of the expected one
	HintReshaped   = "reshaped"   // same element count, other shape
	HintResized    = "resized"    // one dimension differs
	HintClosest    = "closest"    // the unexpected name closest to a missing one
	HintDType      = "dtype"      // many weights share one dtype change
)

// Hint explains some rows of the report. Names lists the expected and
// loaded names of the rows it explains. Fix, when set, is a command-line
// fragment that resolves the rows (verified by re-running the diff's name
// pairing with it), and FixArgs the same as separate arguments.
type Hint struct {
	Kind    string   `json:"kind"`
	Message string   `json:"message"`
	Names   []string `json:"names"`
	Fix     string   `json:"fix,omitempty"`
	FixArgs []string `json:"fix_args,omitempty"`
}

// loadedEntry is one loaded weight after name mapping.
type loadedEntry struct {
	w       tensor.Info // w.Name is the name as loaded
	mapped  string
	ignored bool
}

// DiffWeights compares what a reference checkpoint holds (expected) with
// what a port loaded. Loaded names pass through opts.Rules.Map; names an
// --ignore pattern matches on either side are set aside. A missing
// expected weight is accepted when an opts.Tied pair ties it to a loaded
// one of the same shape. Shapes compare only when both sides give one
// (nil is unknown; a scalar is []int64{}), and dtypes only when both sides
// give one and opts.IgnoreDType is false.
//
// Hints (see Hint) are computed from the rows that remain and attached to
// the rows they explain.
func Diff(expected, loaded tensor.Listing, opts Options) Report {
	d, tiedHint := pair(expected, loaded, opts)
	d.hints(tiedHint)
	r := d.rep
	r.Counts.Missing = len(r.Missing)
	r.Counts.Unexpected = len(r.Unexpected)
	r.Counts.ShapeMismatch = len(r.ShapeMismatch)
	r.Counts.DTypeMismatch = len(r.DTypeMismatch)
	r.Counts.Tied = len(r.Tied)
	r.Counts.Collisions = len(r.Collisions)
	r.Counts.IgnoredExpected = len(r.Ignored.Expected)
	r.Counts.IgnoredLoaded = len(r.Ignored.Loaded)
	r.Pass = len(r.Missing) == 0 && len(r.Unexpected) == 0 && len(r.ShapeMismatch) == 0 &&
		len(r.DTypeMismatch) == 0 && len(r.Collisions) == 0
	return *r
}

// NameHints explains names found on one side only with the name hints of
// Diff: a renamed prefix or component (with the --map that fixes it),
// fused or split, stacked or unstacked tensors, the closest name. It runs
// those hint families alone (no tied, shape or dtype hints) on the rows a
// Diff of the two listings under rules would have, for callers such as
// the tensors report that pair names themselves. Hints come in the order
// Diff gives them; the result is non-nil.
func NameHints(expected, loaded tensor.Listing, rules names.NameRules) []Hint {
	return NameHintsIn(expected, loaded, rules, WeightsWords())
}

// NameHintsIn is NameHints with the messages in words (TensorsWords for
// the tensors report: "3 REF tensors are in OURS without the prefix").
// The hints run again under their own --map fixes, up to 3 rounds, so
// that a rename hidden behind a prefix (or a second prefix) is found in
// the same run: each round keeps the hints with a --map fix, and the
// last round all of its hints.
func NameHintsIn(expected, loaded tensor.Listing, rules names.NameRules, words Words) []Hint {
	out := []Hint{}
	cur := rules
	for round := 0; ; round++ {
		d, _ := pair(expected, loaded, Options{Rules: cur, IgnoreDType: true})
		h := d.newHintState(nil)
		h.words = words
		h.nameFamilies()
		hs := h.sorted()
		var maps []names.MapRule
		var fixes []Hint
		for _, hint := range hs {
			if m := mapsOf(hint.FixArgs); len(m) > 0 {
				maps = append(maps, m...)
				fixes = append(fixes, hint)
			}
		}
		if len(maps) == 0 || round == 2 {
			return append(out, hs...)
		}
		out = append(out, fixes...)
		cur = names.NameRules{Maps: append(slices.Clone(cur.Maps), maps...), Ignore: cur.Ignore}
	}
}

// mapsOf parses the --map values of a hint's fix arguments.
func mapsOf(args []string) []names.MapRule {
	var out []names.MapRule
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] != "--map" {
			return nil
		}
		m, err := names.ParseMap(args[i+1])
		if err != nil {
			return nil
		}
		out = append(out, m)
	}
	return out
}

// pair builds the rows of a diff (all but the hints and the counts) and
// returns the hints --tied already gave missing rows, by name.
func pair(expected, loaded tensor.Listing, opts Options) (*weightsDiff, map[string]string) {
	r := &Report{
		Expected:      summarize(expected),
		Loaded:        summarize(loaded),
		Missing:       []Row{},
		Unexpected:    []Row{},
		ShapeMismatch: []ShapeMismatch{},
		DTypeMismatch: []DTypeMismatch{},
		Tied:          []TiedRow{},
		Collisions:    []Collision{},
		Ignored:       IgnoredNames{Expected: []string{}, Loaded: []string{}},
		Hints:         []Hint{},
		FixArgs:       []string{},
		Options:       echo(opts),
	}

	// Expected side: first occurrence of each name wins.
	var exp []tensor.Info
	expIgnored := map[string]bool{}
	seenExp := map[string]bool{}
	dupExp := 0
	for _, w := range expected.Weights {
		if seenExp[w.Name] {
			dupExp++
			continue
		}
		seenExp[w.Name] = true
		if opts.Rules.Ignored(w.Name) {
			expIgnored[w.Name] = true
			r.Ignored.Expected = append(r.Ignored.Expected, w.Name)
			continue
		}
		exp = append(exp, w)
	}
	if dupExp > 0 {
		r.Expected.Notes = append(r.Expected.Notes, fmt.Sprintf("%d duplicate names; the first of each was compared", dupExp))
	}

	// Loaded side: map, ignore, detect collisions.
	lds := mapLoaded(loaded.Weights, opts.Rules, expIgnored)
	byMapped := map[string]int{} // mapped name -> index in lds of the first
	collIdx := map[string]int{}  // mapped name -> index in r.Collisions
	for i, e := range lds {
		if e.ignored {
			r.Ignored.Loaded = append(r.Ignored.Loaded, e.w.Name)
			continue
		}
		if j, ok := byMapped[e.mapped]; ok {
			c, ok := collIdx[e.mapped]
			if !ok {
				c = len(r.Collisions)
				collIdx[e.mapped] = c
				r.Collisions = append(r.Collisions, Collision{Name: e.mapped, LoadedNames: []string{lds[j].w.Name}})
			}
			r.Collisions[c].LoadedNames = append(r.Collisions[c].LoadedNames, e.w.Name)
			continue
		}
		byMapped[e.mapped] = i
	}

	d := &weightsDiff{opts: opts, rep: r, exp: exp, lds: lds, byMapped: byMapped}
	expNames := map[string]bool{}
	var missing []tensor.Info
	for _, w := range exp {
		expNames[w.Name] = true
		j, ok := byMapped[w.Name]
		if !ok {
			missing = append(missing, w)
			continue
		}
		r.Counts.Matched++
		l := lds[j]
		m := Match{Name: w.Name, LoadedName: l.w.Name, Shape: w.Shape, DType: w.DType}
		if c, ok := collIdx[w.Name]; ok {
			m.Colliding = r.Collisions[c].LoadedNames
		}
		r.Matched = append(r.Matched, m)
		if w.Shape != nil && l.w.Shape != nil && !slices.Equal(w.Shape, l.w.Shape) {
			r.ShapeMismatch = append(r.ShapeMismatch, ShapeMismatch{
				Name: w.Name, LoadedName: l.w.Name, ExpectedShape: w.Shape, LoadedShape: l.w.Shape,
			})
		}
		if !opts.IgnoreDType && w.DType != tensor.Unknown && l.w.DType != tensor.Unknown && w.DType != l.w.DType {
			r.DTypeMismatch = append(r.DTypeMismatch, DTypeMismatch{
				Name: w.Name, LoadedName: l.w.Name, ExpectedDType: w.DType, LoadedDType: l.w.DType,
			})
		}
	}

	// --tied: accept a missing weight whose partner is loaded with its shape.
	tiedHint := map[string]string{}
	for _, w := range missing {
		row, hint, ok := d.tiedAccept(w)
		if ok {
			r.Tied = append(r.Tied, row)
			continue
		}
		if hint != "" {
			tiedHint[w.Name] = hint
		}
		r.Missing = append(r.Missing, Row{Name: w.Name, Shape: w.Shape, DType: w.DType, Hint: hint})
	}
	for i, e := range lds {
		if e.ignored || byMapped[e.mapped] != i || expNames[e.mapped] {
			continue
		}
		row := Row{Name: e.w.Name, Shape: e.w.Shape, DType: e.w.DType}
		if e.mapped != e.w.Name {
			row.MappedName = e.mapped
		}
		r.Unexpected = append(r.Unexpected, row)
		d.unexpIdx = append(d.unexpIdx, i)
	}
	return d, tiedHint
}

// weightsDiff carries the state hints need.
type weightsDiff struct {
	opts     Options
	rep      *Report
	exp      []tensor.Info // expected, not ignored, deduplicated
	lds      []loadedEntry // loaded, in source order
	byMapped map[string]int
	unexpIdx []int // rep.Unexpected[i] is lds[unexpIdx[i]]
}

func mapLoaded(ws []tensor.Info, rules names.NameRules, expIgnored map[string]bool) []loadedEntry {
	out := make([]loadedEntry, len(ws))
	for i, w := range ws {
		m, ign := rules.Map(w.Name)
		out[i] = loadedEntry{w: w, mapped: m, ignored: ign || expIgnored[m]}
	}
	return out
}

func (d *weightsDiff) tiedAccept(w tensor.Info) (TiedRow, string, bool) {
	for _, p := range d.opts.Tied {
		other := ""
		switch w.Name {
		case p.Name:
			other = p.Other
		case p.Other:
			other = p.Name
		default:
			continue
		}
		j, ok := d.byMapped[other]
		if !ok {
			continue
		}
		l := d.lds[j]
		if w.Shape != nil && l.w.Shape != nil && !slices.Equal(w.Shape, l.w.Shape) {
			return TiedRow{}, fmt.Sprintf("--tied %s: %s is loaded as %s with shape %s, not %s",
				p, other, l.w.Name, tensor.FormatShape(l.w.Shape), tensor.FormatShape(w.Shape)), false
		}
		shape := w.Shape
		if shape == nil {
			shape = l.w.Shape
		}
		return TiedRow{Name: w.Name, TiedTo: other, LoadedName: l.w.Name, Shape: shape}, "", true
	}
	return TiedRow{}, "", false
}

func summarize(l tensor.Listing) ListingSummary {
	s := ListingSummary{Source: l.Source, Tensors: len(l.Weights), Notes: []string{}}
	s.Notes = append(s.Notes, l.Notes...)
	for _, w := range l.Weights {
		if w.Shape == nil {
			s.UnknownShapes++
			continue
		}
		n, _ := tensor.Numel(w.Shape) // saturates
		if s.Parameters > math.MaxInt64-n {
			s.Parameters = math.MaxInt64
		} else {
			s.Parameters += n
		}
	}
	return s
}

func echo(o Options) OptionsEcho {
	e := OptionsEcho{Map: []string{}, Ignore: []string{}, Tied: []string{}, IgnoreDType: o.IgnoreDType}
	for _, m := range o.Rules.Maps {
		e.Map = append(e.Map, m.String())
	}
	for _, g := range o.Rules.Ignore {
		e.Ignore = append(e.Ignore, g.String())
	}
	for _, t := range o.Tied {
		e.Tied = append(e.Tied, t.String())
	}
	return e
}
