package golden

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensor"
)

// Version is the version of the golden file format: the "version"
// field of every file `refcmp golden record` writes. A reader refuses
// files of a newer version.
const Version = 1

// File is a golden file: per-tensor summaries of a known-good output,
// for regression tests that keep no full tensors. Its JSON form is the
// file format (documented in docs/json.md and docs/reference.md, "refcmp golden"). The same
// input gives the same bytes: tensors in execution order, fixed fields,
// floats written exactly (shortest round-trip form).
type File struct {
	Version int    `json:"version"`
	Source  string `json:"source"` // the input path as given to `golden record`
	Format  string `json:"format"` // safetensors, npy, npz, pytorch-zip, ...
	// Single marks one unnamed tensor (a .npy, a raw file): it is checked
	// against a single tensor whatever that one's name.
	Single bool `json:"single"`
	// Order says where the tensor order came from: "metadata"
	// (refcmp.order), "insertion" (.npz, .pt), "natural" or "single".
	Order string `json:"order"`
	// Ref is the reference the errors were measured against (record
	// --ref REF), absent otherwise.
	Ref     string   `json:"ref,omitempty"`
	Tensors []Tensor `json:"tensors"`
}

// Tensor is what a golden file keeps of one tensor: the name, dtype,
// shape, element count and statistics (min, max, mean, std (population)
// of the finite elements, NaN and Inf counts) of diffing.TensorStats,
// the SHA-256 and the sampled values.
type Tensor struct {
	diffing.TensorStats
	// SHA256 is the hex SHA-256 of the data as little-endian C-order bytes.
	SHA256 string `json:"sha256"`
	// Samples are values at fixed positions (SamplePositions).
	Samples []diffing.Sample `json:"samples"`
	// Error is the tensor's error against File.Ref (absent without a
	// reference, or when the reference has no such tensor): the baseline
	// a check with --ref judges today's error by.
	Error *diffing.ErrorFigures `json:"error,omitempty"`
}

// Encode writes g in the golden file layout: the header fields one
// per line, then one line per tensor, so that a changed tensor is one
// changed line in a diff. The same File gives the same bytes.
func Encode(g File) ([]byte, error) {
	enc := func(v any) ([]byte, error) {
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		if err := e.Encode(v); err != nil {
			return nil, err
		}
		return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
	}
	var out bytes.Buffer
	out.WriteString("{\n")
	for _, f := range []struct {
		key string
		v   any
	}{{"version", g.Version}, {"source", g.Source}, {"format", g.Format}, {"single", g.Single}, {"order", g.Order}, {"ref", g.Ref}} {
		if f.key == "ref" && g.Ref == "" {
			continue
		}
		b, err := enc(f.v)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&out, "  %q: %s,\n", f.key, b)
	}
	if len(g.Tensors) == 0 {
		out.WriteString("  \"tensors\": []\n}\n")
		return out.Bytes(), nil
	}
	out.WriteString("  \"tensors\": [\n")
	for i, t := range g.Tensors {
		if t.Shape == nil {
			t.Shape = []int64{}
		}
		if t.Samples == nil {
			t.Samples = []diffing.Sample{}
		}
		b, err := enc(t)
		if err != nil {
			return nil, err
		}
		out.WriteString("    ")
		out.Write(b)
		if i < len(g.Tensors)-1 {
			out.WriteByte(',')
		}
		out.WriteByte('\n')
	}
	out.WriteString("  ]\n}\n")
	return out.Bytes(), nil
}

// Summarize summarizes t for a golden file in one pass: its statistics,
// SHA-256 and the values at the flat offsets samples (ascending). Errors
// name the tensor.
func Summarize(t tensor.Tensor, samples []int64) (Tensor, error) {
	s, err := diffing.Summarize(t, diffing.SummaryOptions{Hash: true, Samples: samples})
	if s.Samples == nil {
		s.Samples = []diffing.Sample{}
	}
	return Tensor{TensorStats: s.TensorStats, SHA256: s.SHA256, Samples: s.Samples}, err
}

// Parse reads a golden file and checks it: a known version, unique
// names, known dtypes, element counts that match the shapes, a 64-digit
// hex SHA-256, sample offsets inside the tensor (ascending) with indices
// that match them. Unknown fields are ignored, so files from a later
// refcmp of the same version still read.
func Parse(data []byte) (File, error) {
	var head struct {
		Version *int `json:"version"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return File{}, fmt.Errorf("not a golden file: %w", jsonErr(data, err))
	}
	switch {
	case head.Version == nil:
		return File{}, errors.New(`not a golden file: no "version" field (write one with 'refcmp golden record')`)
	case *head.Version > Version:
		return File{}, fmt.Errorf("golden file version %d is newer than this refcmp reads (%d): upgrade refcmp", *head.Version, Version)
	case *head.Version < 1:
		return File{}, fmt.Errorf("golden file version %d: want %d", *head.Version, Version)
	}
	var g File
	if err := json.Unmarshal(data, &g); err != nil {
		if i, name, ok := badGoldenTensor(data); ok {
			return File{}, fmt.Errorf("tensor %q (number %d): %w", name, i, jsonErr(data, err))
		}
		return File{}, jsonErr(data, err)
	}
	seen := map[string]bool{}
	for i := range g.Tensors {
		t := &g.Tensors[i]
		if t.Name == "" && !g.Single {
			return File{}, fmt.Errorf("tensor %d: no name", i)
		}
		if seen[t.Name] {
			return File{}, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		seen[t.Name] = true
		if err := t.validate(); err != nil {
			return File{}, fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	}
	if g.Tensors == nil {
		g.Tensors = []Tensor{}
	}
	return g, nil
}

// badGoldenTensor finds the first tensor entry of a golden file that does
// not decode, and its name, so that an error can name it.
func badGoldenTensor(data []byte) (i int, name string, ok bool) {
	var raw struct {
		Tensors []json.RawMessage `json:"tensors"`
	}
	if json.Unmarshal(data, &raw) != nil {
		return 0, "", false
	}
	for i, rt := range raw.Tensors {
		var gt Tensor
		if json.Unmarshal(rt, &gt) != nil {
			var n struct {
				Name string `json:"name"`
			}
			json.Unmarshal(rt, &n)
			return i, n.Name, true
		}
	}
	return 0, "", false
}

func (t *Tensor) validate() error {
	if t.DType == tensor.Unknown {
		return errors.New("no dtype")
	}
	if t.Shape == nil {
		return errors.New("no shape")
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
		if d != 0 && n > math.MaxInt64/d {
			return fmt.Errorf("shape %v is too large", t.Shape)
		}
		n *= d
	}
	if t.Numel != n {
		return fmt.Errorf("numel %d does not match shape %v (%d elements)", t.Numel, t.Shape, n)
	}
	if t.SHA256 != "" && (len(t.SHA256) != 64 || strings.Trim(t.SHA256, "0123456789abcdef") != "") {
		return fmt.Errorf("sha256 %q is not 64 lower-case hex digits", t.SHA256)
	}
	if t.Stats.NaN < 0 || t.Stats.Inf < 0 || t.Stats.NaN > n-t.Stats.Inf {
		return fmt.Errorf("NaN count %d and Inf count %d do not fit %d elements", t.Stats.NaN, t.Stats.Inf, n)
	}
	for i, s := range t.Samples {
		if s.Offset < 0 || s.Offset >= n {
			return fmt.Errorf("sample %d: offset %d is outside the %d elements", i, s.Offset, n)
		}
		if i > 0 && s.Offset <= t.Samples[i-1].Offset {
			return fmt.Errorf("sample %d: offsets must ascend (%d after %d)", i, s.Offset, t.Samples[i-1].Offset)
		}
		if !slices.Equal(s.Index, tensor.Unravel(s.Offset, t.Shape)) {
			return fmt.Errorf("sample %d: index %v is not offset %d in shape %v", i, s.Index, s.Offset, t.Shape)
		}
	}
	if t.Samples == nil {
		t.Samples = []diffing.Sample{}
	}
	return nil
}

// jsonErr adds the line and column to a JSON syntax error.
func jsonErr(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64 = -1
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off <= 0 || off > int64(len(data)) {
		return err
	}
	pos := off - 1 // the offset is just past the offending byte
	line := 1 + bytes.Count(data[:pos], []byte("\n"))
	col := pos - int64(bytes.LastIndexByte(data[:pos], '\n'))
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// Mode is what `golden check` compares.
type Mode string

const (
	// ModeStats (the default) compares names, shapes and dtypes; NaN
	// and Inf counts exactly; min, max, mean, std and the sampled values
	// within tolerance: |current - recorded| <= atol + rtol * |recorded|.
	ModeStats Mode = "stats"
	// ModeExact compares names, shapes, dtypes and the SHA-256 of the
	// data: any changed bit fails.
	ModeExact Mode = "exact"
	// ModeStructure compares names, shapes and dtypes only.
	ModeStructure Mode = "structure"
	// ModeError (golden check --ref REF) compares names, shapes and
	// dtypes, and each tensor's error against the reference with the
	// error recorded (diffing.JudgeError): the port's output may change
	// as long as it gets no further from the reference. Check uses it
	// when CheckOptions.Errors is set.
	ModeError Mode = "error"
)

// Modes lists the modes, default first.
func Modes() []Mode { return []Mode{ModeStats, ModeExact, ModeStructure} }

// CheckOptions says how Check compares.
type CheckOptions struct {
	Mode Mode // "" means ModeStats
	// Tolerance resolves each tensor's tolerance in stats mode (dtype
	// defaults of the recorded and current dtypes, the looser, under the
	// flags and per-name rules). Checks allclose and max-abs apply to the
	// statistics and samples; Exact asks for the same SHA-256. The
	// aggregate checks (cosine, nmse) have nothing to apply to here.
	Tolerance diffing.ToleranceRules
	// Common checks the tensors both sides hold: new and missing tensors
	// are listed (and noted), not failures.
	Common bool
	// Errors, when not nil, holds each input tensor's error against a
	// reference now (by input name), and the check is ModeError: each
	// is judged against the recorded Error under the factor WorseBy
	// (diffing.DefaultWorseBy when 0).
	Errors  map[string]diffing.ErrorFigures
	WorseBy float64
}

// Report is the result of a golden check: plain data, and with
// --format json refcmp's stable contract. Lists are never nil.
type Report struct {
	// Pass: every recorded tensor is present and unchanged, and no tensor
	// is new.
	Pass bool `json:"pass"`
	Mode Mode `json:"mode"`
	// Common: new and missing tensors do not fail (absent when false).
	Common bool `json:"common,omitempty"`
	// FirstChange is the first changed tensor in the recorded order, or
	// null.
	FirstChange *string       `json:"first_change"`
	Golden      FileInfo      `json:"golden"`
	Input       InputInfo     `json:"input"`
	Counts      Counts        `json:"counts"`
	Tensors     []TensorCheck `json:"tensors"` // one per recorded tensor found in the input, recorded order
	New         []string      `json:"new"`     // in the input, not recorded (input order)
	Missing     []string      `json:"missing"` // recorded, not in the input (recorded order)
	Notes       []string      `json:"notes"`
}

// FileInfo describes the golden file.
type FileInfo struct {
	Path    string `json:"path"`    // the golden file as given (set by the caller)
	Version int    `json:"version"` // its format version
	Source  string `json:"source"`  // the input it was recorded from
	Format  string `json:"format"`
	Tensors int    `json:"tensors"`
}

// InputInfo describes the checked input.
type InputInfo struct {
	Source  string `json:"source"`
	Format  string `json:"format"`
	Tensors int    `json:"tensors"`
}

// Counts sums a report up.
type Counts struct {
	Checked int `json:"checked"` // recorded tensors found in the input
	Passed  int `json:"passed"`
	Changed int `json:"changed"`
	New     int `json:"new"`
	Missing int `json:"missing"`
}

// TensorCheck is the check of one recorded tensor.
type TensorCheck struct {
	Name string `json:"name"`
	// CurrentName is the input's name for it when that differs (a single
	// tensor checked against a single-tensor record).
	CurrentName string       `json:"current_name,omitempty"`
	DType       tensor.DType `json:"dtype"` // recorded
	Shape       []int64      `json:"shape"` // recorded
	Pass        bool         `json:"pass"`
	// HashMatch reports whether the data are bit-identical (null in
	// structure mode). In stats mode a pass with different bits is a
	// change within tolerance.
	HashMatch *bool `json:"hash_match"`
	// Tolerance is the rule of stats mode (null in other modes).
	Tolerance *diffing.Tolerance `json:"tolerance"`
	// Recorded and Current are both statistics (null in structure mode).
	Recorded *diffing.SideStats `json:"recorded"`
	Current  *diffing.SideStats `json:"current"`
	// Changes lists what differs, in a fixed order: shape, dtype, nan,
	// inf, min, max, mean, std, value (by offset), sha256.
	Changes []Change `json:"changes"`
	// Error is the error against the reference judged against the
	// recorded one (ModeError; absent otherwise, or when the reference
	// has no such tensor).
	Error *diffing.BaselinePair `json:"error,omitempty"`
}

// Change is one difference between the record and the input.
// Recorded and Current hold the two values: shapes ([]int64), dtypes
// (string), counts (int64), statistics and element values (Float, so
// NaN and infinities are the strings "NaN", "Infinity", "-Infinity"),
// hashes (string).
type Change struct {
	What     string  `json:"what"`             // shape, dtype, nan, inf, min, max, mean, std, value, sha256, error
	Index    []int64 `json:"index,omitempty"`  // value: the element's index
	Offset   *int64  `json:"offset,omitempty"` // value: its flat offset
	Recorded any     `json:"recorded"`
	Current  any     `json:"current"`
	// AbsDiff and Allowed are |current - recorded| and atol + rtol *
	// |recorded| for statistics and values (absent otherwise).
	AbsDiff *tensor.Float `json:"abs_diff,omitempty"`
	Allowed *tensor.Float `json:"allowed,omitempty"`
}

// Check checks current (the input, summarized with the recorded
// sample positions; see SamplesFor) against recorded. Tensors pair
// by name, or directly when both sides are one single tensor.
func Check(recorded, current File, opt CheckOptions) Report {
	mode := opt.Mode
	if mode == "" {
		mode = ModeStats
	}
	if opt.Errors != nil {
		mode = ModeError
	}
	rep := Report{
		Mode:    mode,
		Common:  opt.Common,
		Golden:  FileInfo{Version: recorded.Version, Source: recorded.Source, Format: recorded.Format, Tensors: len(recorded.Tensors)},
		Input:   InputInfo{Source: current.Source, Format: current.Format, Tensors: len(current.Tensors)},
		Tensors: []TensorCheck{},
		New:     []string{},
		Missing: []string{},
		Notes:   []string{},
	}
	single := recorded.Single && current.Single && len(recorded.Tensors) == 1 && len(current.Tensors) == 1
	byName := map[string]int{}
	for i, t := range current.Tensors {
		if _, dup := byName[t.Name]; dup {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the input holds %q twice; the first was checked", t.Name))
			continue
		}
		byName[t.Name] = i
	}
	used := make([]bool, len(current.Tensors))
	for _, rt := range recorded.Tensors {
		j, ok := byName[rt.Name]
		if single {
			j, ok = 0, true
		}
		if !ok {
			rep.Missing = append(rep.Missing, rt.Name)
			continue
		}
		used[j] = true
		ct := current.Tensors[j]
		tol := opt.Tolerance.Resolve(rt.Name, rt.DType, ct.DType)
		var c TensorCheck
		if mode == ModeError {
			c = CheckTensor(rt, ct, ModeStructure, tol)
			if now, ok := opt.Errors[ct.Name]; ok {
				p := diffing.JudgeError(rt.Name, rt.Error, now, opt.WorseBy)
				c.Error = &p
				if !p.Pass {
					ch := Change{What: "error", Recorded: nil, Current: now.MaxAbsDiff}
					if rt.Error != nil {
						ch.Recorded = rt.Error.MaxAbsDiff
					}
					c.Changes = append(c.Changes, ch)
				}
				c.Pass = len(c.Changes) == 0
			}
		} else {
			c = CheckTensor(rt, ct, mode, tol)
		}
		rep.Tensors = append(rep.Tensors, c)
	}
	for j, t := range current.Tensors {
		if !used[j] {
			if k := byName[t.Name]; k == j {
				rep.New = append(rep.New, t.Name)
			}
		}
	}
	c := &rep.Counts
	c.Checked = len(rep.Tensors)
	for i := range rep.Tensors {
		if rep.Tensors[i].Pass {
			c.Passed++
		} else {
			c.Changed++
			if rep.FirstChange == nil {
				name := rep.Tensors[i].Name
				rep.FirstChange = &name
			}
		}
	}
	c.New, c.Missing = len(rep.New), len(rep.Missing)
	rep.Pass = c.Changed == 0 && (opt.Common || c.New == 0 && c.Missing == 0)
	if opt.Common && c.New+c.Missing > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("checked %d of %d recorded tensors (--common); not checked: %d missing, %d new",
			c.Checked, len(recorded.Tensors), c.Missing, c.New))
	}
	if mode == ModeError {
		n := 0
		for _, t := range rep.Tensors {
			if t.Error == nil {
				n++
			}
		}
		if n > 0 {
			rep.Notes = append(rep.Notes, fmt.Sprintf("the reference has no tensor for %d of the checked ones: only their names, shapes and dtypes were checked", n))
		}
	}
	return rep
}

// SamplesFor returns the sample offsets to summarize an input
// tensor with: the recorded tensor's, when one of that name (or the
// single recorded tensor) has the same shape; nil otherwise.
func SamplesFor(recorded File, name string, shape []int64, single bool) []int64 {
	var rt *Tensor
	if single && recorded.Single && len(recorded.Tensors) == 1 {
		rt = &recorded.Tensors[0]
	} else {
		for i := range recorded.Tensors {
			if recorded.Tensors[i].Name == name {
				rt = &recorded.Tensors[i]
				break
			}
		}
	}
	if rt == nil || !slices.Equal(rt.Shape, shape) {
		return nil
	}
	out := make([]int64, len(rt.Samples))
	for i, s := range rt.Samples {
		out[i] = s.Offset
	}
	return out
}

// CheckTensor compares one tensor with its record under mode; tol
// is used in stats mode (see CheckOptions.Tolerance).
func CheckTensor(rec, cur Tensor, mode Mode, tol diffing.Tolerance) TensorCheck {
	c := TensorCheck{Name: rec.Name, DType: rec.DType, Shape: rec.Shape, Changes: []Change{}}
	if cur.Name != rec.Name {
		c.CurrentName = cur.Name
	}
	if c.Shape == nil {
		c.Shape = []int64{}
	}
	sameShape := slices.Equal(rec.Shape, cur.Shape)
	if !sameShape {
		c.Changes = append(c.Changes, Change{What: "shape", Recorded: rec.Shape, Current: cur.Shape})
	}
	if rec.DType != cur.DType {
		c.Changes = append(c.Changes, Change{What: "dtype", Recorded: rec.DType.String(), Current: cur.DType.String()})
	}
	if mode != ModeStructure {
		rs, cs := rec.Stats, cur.Stats
		c.Recorded, c.Current = &rs, &cs
		if rec.SHA256 != "" && cur.SHA256 != "" {
			m := rec.SHA256 == cur.SHA256 && rec.DType == cur.DType && sameShape
			c.HashMatch = &m
		}
	}
	switch {
	case mode == ModeExact || (mode == ModeStats && tol.Exact):
		if mode == ModeStats {
			c.Tolerance = &tol
		}
		if sameShape && rec.SHA256 != cur.SHA256 {
			c.Changes = append(c.Changes, Change{What: "sha256", Recorded: rec.SHA256, Current: cur.SHA256})
		}
	case mode == ModeStats:
		c.Tolerance = &tol
		if sameShape {
			c.Changes = append(c.Changes, statChanges(rec, cur, tol)...)
		}
	}
	c.Pass = len(c.Changes) == 0
	return c
}

// statChanges compares counts exactly and statistics and samples within
// tol.
func statChanges(rec, cur Tensor, tol diffing.Tolerance) []Change {
	var out []Change
	if rec.Stats.NaN != cur.Stats.NaN {
		out = append(out, Change{What: "nan", Recorded: rec.Stats.NaN, Current: cur.Stats.NaN})
	}
	if rec.Stats.Inf != cur.Stats.Inf {
		out = append(out, Change{What: "inf", Recorded: rec.Stats.Inf, Current: cur.Stats.Inf})
	}
	atol, rtol := tol.Atol, tol.Rtol
	if tol.Check == diffing.CheckMaxAbs {
		rtol = 0
	}
	num := func(what string, r, c tensor.Float) *Change {
		ok, d, allowed := goldenClose(float64(c), float64(r), atol, rtol)
		if ok {
			return nil
		}
		ch := Change{What: what, Recorded: r, Current: c}
		if !math.IsNaN(d) {
			df, af := tensor.Float(d), tensor.Float(allowed)
			ch.AbsDiff, ch.Allowed = &df, &af
		}
		return &ch
	}
	for _, f := range []struct {
		what string
		r, c tensor.Float
	}{
		{"min", rec.Stats.Min, cur.Stats.Min},
		{"max", rec.Stats.Max, cur.Stats.Max},
		{"mean", rec.Stats.Mean, cur.Stats.Mean},
		{"std", rec.Stats.Std, cur.Stats.Std},
	} {
		if ch := num(f.what, f.r, f.c); ch != nil {
			out = append(out, *ch)
		}
	}
	j := 0
	for _, s := range rec.Samples {
		for j < len(cur.Samples) && cur.Samples[j].Offset < s.Offset {
			j++
		}
		off := s.Offset
		if j == len(cur.Samples) || cur.Samples[j].Offset != s.Offset {
			out = append(out, Change{What: "value", Index: s.Index, Offset: &off, Recorded: s.Value, Current: nil})
			continue
		}
		if ch := num("value", s.Value, cur.Samples[j].Value); ch != nil {
			ch.Index, ch.Offset = s.Index, &off
			out = append(out, *ch)
		}
	}
	return out
}

// goldenClose applies |c - r| <= atol + rtol * |r|. NaN matches NaN (a
// statistic of no finite element, or a NaN recorded where there still is
// one) and an infinity only the same infinity; d is NaN then.
func goldenClose(c, r, atol, rtol float64) (ok bool, d, allowed float64) {
	switch {
	case math.IsNaN(c) || math.IsNaN(r):
		return math.IsNaN(c) && math.IsNaN(r), math.NaN(), math.NaN()
	case math.IsInf(c, 0) || math.IsInf(r, 0):
		return c == r, math.NaN(), math.NaN()
	}
	d = math.Abs(c - r)
	allowed = atol + float64(rtol*math.Abs(r)) // rounded twice, as torch and numpy do (the conversion forbids fusing)
	return d <= allowed, d, allowed
}

// Text describes a change in one line, e.g.
// "max 3.25 -> 100 (|diff| 96.75 > allowed 0.0001433)".
func (c Change) Text() string {
	val := func(v any) string {
		switch x := v.(type) {
		case nil:
			return "(not read)"
		case tensor.Float:
			return diffing.FormatValue(float64(x))
		case []int64:
			return tensor.FormatShape(x)
		case int64:
			return strconv.FormatInt(x, 10)
		case string:
			if c.What == "sha256" && len(x) > 12 {
				return x[:12] + "…"
			}
			return x
		}
		return fmt.Sprint(v)
	}
	what := c.What
	switch c.What {
	case "nan":
		what = "NaN count"
	case "inf":
		what = "Inf count"
	case "value":
		what = "value at " + tensor.FormatShape(c.Index)
	case "error":
		if c.Recorded == nil {
			return "error against the reference: none recorded, max|diff| now " + val(c.Current) + " (outside tolerance)"
		}
		what = "error against the reference (max|diff|)"
	}
	s := fmt.Sprintf("%s %s -> %s", what, val(c.Recorded), val(c.Current))
	if c.AbsDiff != nil && c.Allowed != nil {
		s += fmt.Sprintf(" (|diff| %s > allowed %s)", diffing.FormatStat(float64(*c.AbsDiff)), diffing.FormatStat(float64(*c.Allowed)))
	}
	return s
}

// Summary is the check of one tensor in one line: "name: unchanged", or
// "name: changed: max 3.25 -> 100 (...); value at [0 3] ...".
func (c TensorCheck) Summary() string {
	if c.Pass {
		s := c.Name + ": unchanged"
		if c.HashMatch != nil && !*c.HashMatch {
			s += " within tolerance (the bits differ)"
		}
		return s
	}
	parts := make([]string, len(c.Changes))
	for i, ch := range c.Changes {
		parts[i] = ch.Text()
	}
	return c.Name + ": changed: " + strings.Join(parts, "; ")
}

// Record builds the golden file of ts (in execution order, as
// diffing.ExecOrder gives them): one pass over each tensor for its
// statistics, SHA-256 and the values at diffing.SamplePositions. Errors
// name the tensor.
func Record(source, format string, single bool, order string, ts []tensor.Tensor) (File, error) {
	g := File{Version: Version, Source: source, Format: format, Single: single, Order: order, Tensors: make([]Tensor, 0, len(ts))}
	for _, t := range ts {
		s, err := Summarize(t, diffing.SamplePositions(t.Numel()))
		if err != nil {
			return g, err
		}
		g.Tensors = append(g.Tensors, s)
	}
	return g, nil
}

// Current summarizes ts for a Check against rec: recorded tensors are
// read for the statistics, hash and values at rec's sample positions;
// with ModeStructure, or for tensors rec does not hold, only names,
// shapes and dtypes are kept (no data is read).
func Current(rec File, source, format string, single bool, ts []tensor.Tensor, mode Mode) (File, error) {
	recorded := map[string]bool{}
	for _, t := range rec.Tensors {
		recorded[t.Name] = true
	}
	one := single && rec.Single && len(ts) == 1 && len(rec.Tensors) == 1
	cur := File{Source: source, Format: format, Single: single, Tensors: make([]Tensor, 0, len(ts))}
	for _, t := range ts {
		if mode == ModeStructure || (!recorded[t.Name] && !one) {
			cur.Tensors = append(cur.Tensors, Tensor{TensorStats: diffing.TensorStats{Name: t.Name, DType: t.DType, Shape: t.Shape, Numel: t.Numel()}})
			continue
		}
		s, err := Summarize(t, SamplesFor(rec, t.Name, t.Shape, single))
		if err != nil {
			return cur, err
		}
		cur.Tensors = append(cur.Tensors, s)
	}
	return cur, nil
}
