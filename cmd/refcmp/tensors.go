package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/internal/fileio"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile"
	"github.com/spf13/cobra"
)

const tensorsDoc = `Compare tensor dumps numerically: the reference's (REF) against the
port's (OURS), element by element, in one pass over each pair.

REF and OURS may each be:
  - one tensor: .npy (any byte order, C or Fortran order), a PyTorch file
    holding a bare tensor, or raw little-endian data (.bin, .raw, ...)
    described by --dtype/--shape or a sidecar NAME.json
    {"dtype": "F32", "shape": [4, 8]};
  - a container: .safetensors, a sharded index (model.safetensors.index.json),
    .npz, a PyTorch checkpoint (.pt/.pth/.bin, zip or legacy);
  - a directory: its tensor files are paired by relative path
    ("sub/x.npy", and "sub/acts.npz/member" for containers);
  - one member of a container, written PATH:NAME (test.npz:x,
    model.safetensors:lm_head.weight). PATH:NAME is read that way only when
    no file called PATH:NAME exists.

Two single tensors compare directly, whatever their names. Containers
pair tensors by name, after the name rules of 'refcmp weights': --map
rewrites OURS names, --ignore leaves names out on both sides. Names found
on one side only are listed (ref_only, ours_only) and fail the comparison;
so does a pair of different shapes (with a transpose or permutation hint).
--common compares the names both sides hold and lists the others.

Tolerance: an element passes when
    |ours - ref| <= atol + rtol * |ref|
(torch.testing.assert_close). Defaults by dtype, the looser of both sides:
    dtype        rtol     atol
    F64          1e-7     1e-7
    F32          1.3e-6   1e-5
    F16          1e-3     1e-5
    BF16         1.6e-2   1e-5
    F8_E4M3      0.125    2^-9  (about one unit in the last place)
    F8_E5M2      0.25     2^-16
    integers, bool: exact
--check max-abs uses |ours - ref| <= atol; --check cosine passes when the
cosine similarity is >= --threshold (default 0.997); --check nmse when
MSE / var(ref) <= --threshold (default 0.01). NaN equals NaN only with
--equal-nan; an infinity matches only the same infinity; a NaN or Inf in
OURS where REF is finite always fails. --exact asks for bitwise equality.
Negative or NaN tolerances are usage errors.

Per-tensor rules (--tol, repeatable, later rules win field by field):
    --tol 'GLOB=ATOL:RTOL'        e.g. 'layers.*.attn.*=1e-4:1e-3'
    --tol 'GLOB=ATOL:'            atol only (':RTOL' for rtol only)
    --tol 'GLOB=exact'            bitwise
    --tol 'GLOB=cosine:0.99'      a check, with its threshold
    --tol 'GLOB=nmse:1e-3'
    --tol 'GLOB=max-abs:1e-4'
GLOB matches the REF name ('*' does not cross '/', so it spans the dots of
layer names). --config FILE holds the same settings as JSON:
    {"atol": 1e-4, "rtol": 1e-3, "check": "allclose", "equal_nan": true,
     "tol": ["lm_head=1e-3:1e-2"], "map": ["^model\\.="], "ignore": ["*.inv_freq"]}
Flags given on the command line win over the file; file rules run first.

Order: tensors are reported in execution order, which is --order FILE
(names one per line, or a JSON list), else the "refcmp.order" entry of
a safetensors __metadata__, else the insertion order of .npz and .pt
files, else a natural sort of names (layers.2 before layers.10). The
report names the first failing tensor (every earlier one passed) and
classifies the error along the sequence: clean, a jump at step N, gradual
growth, or NaN from step N, with a sparkline of log max|diff| per step.

Output: text (verdict first, one row per pair; passing rows folded unless
--all; a detail block per failing pair with both sides' statistics, the
worst element, the first mismatch, diagnosis hints and a log-scale
histogram of |diff|), --format json (the stable contract in docs/json.md)
or --format markdown (for a pull-request comment or CI step summary).
A progress bar goes to stderr when it is a terminal and the work is long.
--format junit writes JUnit XML for CI (one testcase per pair), and
--issues-log FILE appends, on failure, an [OPEN] entry to a Markdown log.
--details N shows at most N detail blocks (default 10; --all shows all).

` + baselineHelp + `

` + exitCodesHelp

const tensorsExample = `  # Two .npy dumps of one activation
  refcmp tensors ref/logits.npy ours/logits.npy

  # Every activation of a forward pass: where does it first go wrong?
  refcmp tensors ref_activations.safetensors ours_activations.safetensors

  # The port names things differently and dumps bf16
  refcmp tensors ref.safetensors ours.npz --map '^model\.=' --tol 'lm_head=1e-2:2e-2'

  # One member of an .npz against a .npy
  refcmp tensors test.npy test.npz:x

  # Raw float32 buffers from a C++ port
  refcmp tensors --dtype f32 --shape 1,8,32 ref.bin ours.bin

  # Determinism: two runs must be bitwise identical
  refcmp tensors --exact run1/ run2/

  # For a CI step summary
  refcmp tensors --format markdown ref/ ours/ >> "$GITHUB_STEP_SUMMARY"`

// Progress modes for --progress.
const (
	progressAuto  = "auto"
	progressNever = "never"
)

// tensorsOptions holds what the tensors command was asked to do.
type tensorsOptions struct {
	ref, ours string

	dtype, refDType, oursDType string
	shape, refShape, oursShape string

	configPath string
	maps       []string
	ignores    []string

	atol, rtol, threshold float64
	check                 string
	exact, equalNaN       bool
	tols                  []string // GLOB=SPEC
	orderPath             string
	progress              string
	details               int
	preset                string
	logits                bool

	// changed records which flags were given on the command line, so
	// that only those override the config file and the dtype defaults.
	changed func(name string) bool

	out  outputFlags
	plot plotFlags
	base baselineFlags
}

func newTensorsCmd(a *app) *cobra.Command {
	o := tensorsOptions{progress: progressAuto, details: maxDetails}
	cmd := &cobra.Command{
		Use:     "tensors [flags] REF OURS",
		Short:   "Compare tensor dumps numerically and say where they first diverge",
		Long:    tensorsDoc + "\n\n" + diffing.NoiseRule,
		Example: tensorsExample,
		Args:    exactArgs("REF", "OURS"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ref, o.ours = args[0], args[1]
			o.changed = cmd.Flags().Changed
			return runTensors(a, &o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.dtype, "dtype", "", "`DTYPE` of raw data files on both sides (f32, f16, bf16, f64, i32, ...; default f32)")
	fs.StringVar(&o.refDType, "ref-dtype", "", "`DTYPE` of a raw REF file (overrides --dtype)")
	fs.StringVar(&o.oursDType, "ours-dtype", "", "`DTYPE` of a raw OURS file (overrides --dtype)")
	fs.StringVar(&o.shape, "shape", "", "`SHAPE` of raw data files on both sides, e.g. 1,8,32 (default: 1-D, the whole file)")
	fs.StringVar(&o.refShape, "ref-shape", "", "`SHAPE` of a raw REF file (overrides --shape)")
	fs.StringVar(&o.oursShape, "ours-shape", "", "`SHAPE` of a raw OURS file (overrides --shape)")
	fs.StringVar(&o.configPath, "config", "", "read tolerance and name settings from this JSON `FILE` (see above)")
	fs.StringArrayVar(&o.maps, "map", nil, "rename OURS names: Go regexp `REGEX=REPLACEMENT`, applied in order (repeatable)")
	fs.StringArrayVar(&o.ignores, "ignore", nil, "leave out names matching this `GLOB` on both sides (repeatable)")
	fs.Float64Var(&o.atol, "atol", 0, "absolute tolerance `ATOL` for every pair (default by dtype)")
	fs.Float64Var(&o.rtol, "rtol", 0, "relative tolerance `RTOL` for every pair (default by dtype)")
	fs.Var(&choiceValue{&o.check, checkNames()}, "check", "pass criterion: "+strings.Join(checkNames(), ", ")+" (default allclose)")
	fs.Float64Var(&o.threshold, "threshold", 0, "`T` for --check cosine (minimum, default 0.997) or nmse (maximum, default 0.01)")
	fs.BoolVar(&o.exact, "exact", false, "require bitwise equality (determinism checks)")
	fs.BoolVar(&o.equalNaN, "equal-nan", false, "NaN in both sides at the same place counts as equal")
	fs.StringArrayVar(&o.tols, "tol", nil, "per-tensor rule `GLOB=ATOL:RTOL` (or GLOB=exact, GLOB=cosine:T, GLOB=nmse:T, GLOB=max-abs:ATOL); repeatable")
	fs.IntVar(&o.details, "details", 1, "detail blocks for the first `N` failing pairs (later failures are mostly consequences; --all shows every one)")
	fs.StringVar(&o.orderPath, "order", "", "execution order: a `FILE` of REF names, one per line or a JSON list")
	fs.StringVar(&o.preset, "preset", "", presetHelp)
	fs.BoolVar(&o.logits, "logits", false, logitsHelp)
	fs.Var(&choiceValue{&o.progress, []string{progressAuto, progressNever}}, "progress", "progress bar on stderr: auto (on a terminal, for long work), never")
	o.out.register(cmd, formatText, formatJSON, formatMarkdown, formatJUnit)
	o.plot.register(cmd)
	o.base.register(cmd, "names")
	_ = cmd.RegisterFlagCompletionFunc("check", cobra.FixedCompletions(checkNames(), cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func checkNames() []string {
	var out []string
	for _, c := range diffing.AllChecks() {
		out = append(out, string(c))
	}
	return out
}

func runTensors(a *app, o *tensorsOptions) error {
	set, err := o.settings()
	if err != nil {
		return err
	}
	if err := o.base.check(); err != nil {
		return err
	}
	if o.details < 0 {
		return usagef("--details must be >= 0, got %d", o.details)
	}
	if done, err := o.tryEvalLog(a, set); done {
		return err
	}
	prev, hasBaseline, err := o.base.read()
	if err != nil {
		return err
	}
	ref, closeRef, err := openInput("REF", o.ref, set.refOpts)
	if err != nil {
		return err
	}
	defer closeRef()
	ours, closeOurs, err := openInput("OURS", o.ours, set.oursOpts)
	if err != nil {
		return err
	}
	defer closeOurs()
	var conv map[string]diffing.Conversion
	convIsOurs := false
	if o.preset != "" {
		p, err := loadPreset(o.preset)
		if err != nil {
			return err
		}
		if conv, convIsOurs, err = presetInputs(p, &ref, &ours); err != nil {
			return err
		}
	}
	var bar *progress
	defer func() { bar.finish() }()
	rep, err := diffing.CompareAll(ref, ours, diffing.CompareAllOptions{
		Rules: set.rules, Tolerance: set.tol, Order: set.order, OrderWhat: "--order " + set.orderPath,
		Pictures: o.plot.wanted(a, o.out.format),
		Common:   o.base.common,
		Logits:   o.logits,
		Progress: func(total int64) func(int64) {
			bar = newProgress(a, o.progress, total)
			return bar.set
		},
	})
	var perr *diffing.PairingError
	if errors.As(err, &perr) {
		return &usageError{err}
	}
	if err != nil {
		return err
	}
	bar.finish()
	bar = nil
	if conv != nil {
		if err := diffing.ConversionHints(&rep, ref, ours, conv, convIsOurs); err != nil {
			return err
		}
	}
	if hasBaseline {
		rep.ApplyBaseline(prev, o.base.baseline, o.base.worseBy)
	}
	if err := o.base.writeReport(rep); err != nil {
		return err
	}
	view := tensorsView{Report: rep, All: o.out.all, Details: o.details, Logits: o.logits}
	if conv != nil && !o.changed("details") {
		view.Details = len(rep.Tensors) // independent weights: no failure is another's consequence
	}
	if err := o.plot.tensors(a, &view, ref, ours, o.out.format, "refcmp tensors "+o.ref+" "+o.ours); err != nil {
		return err
	}
	return o.out.render(a, rep, rep.Pass, formatRenderers{
		text:     func(st textStyle) error { return renderTensorsText(safeText{a.stdout}, view, st) },
		markdown: func() error { return renderTensorsMarkdown(a.stdout, view) },
		junit:    func() ciSuite { return tensorsSuite(o, view) },
	})
}

// openInput opens one input of `refcmp tensors`, PATH or PATH:NAME.
// PATH:NAME selects a member when no file called PATH:NAME exists but
// PATH does.
func openInput(label, arg string, opts tensorfile.Options) (diffing.Input, func(), error) {
	in := diffing.Input{Label: label, Arg: arg, Path: arg}
	if _, err := os.Stat(arg); err != nil {
		if i := strings.LastIndexByte(arg, ':'); i > 0 && i < len(arg)-1 {
			if _, perr := os.Stat(arg[:i]); perr == nil {
				in.Path, in.Member = arg[:i], arg[i+1:]
			}
		}
	}
	c, err := tensorfile.Open(in.Path, opts)
	if err != nil {
		return in, nil, err
	}
	in.Format, in.Held, in.Notes = c.Format, len(c.Tensors), c.Notes
	in.Tensors, in.Single, in.Order, in.Ordered = c.Tensors, c.Single, c.Order, c.Ordered
	if in.Member != "" {
		i := slices.IndexFunc(c.Tensors, func(t tensor.Tensor) bool { return t.Name == in.Member })
		if i < 0 {
			c.Close()
			return in, nil, fmt.Errorf("%s: no tensor %q in %s (%s)", arg, in.Member, in.Path, memberHint(in.Member, c.Tensors))
		}
		in.Tensors = c.Tensors[i : i+1]
		in.Single = true
	}
	return in, func() { c.Close() }, nil
}

// tensorsSettings is the command line and config file merged and parsed.
type tensorsSettings struct {
	refOpts, oursOpts tensorfile.Options
	rules             names.NameRules
	tol               diffing.ToleranceRules
	order             []string // from --order, nil when not given
	orderPath         string
}

// settings merges the config file (if any) with the flags and checks
// every value: a bad flag value is a usage error (exit 2), a bad config
// value an error naming the file (exit 2 too).
func (o *tensorsOptions) settings() (tensorsSettings, error) {
	var s tensorsSettings
	changed := o.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	var err error
	if s.refOpts, err = rawOptions(o.dtype, o.refDType, o.shape, o.refShape, "ref"); err != nil {
		return s, err
	}
	if s.oursOpts, err = rawOptions(o.dtype, o.oursDType, o.shape, o.oursShape, "ours"); err != nil {
		return s, err
	}

	var maps, ignores []string
	var base diffing.ToleranceSpec
	if o.configPath != "" {
		c, err := loadConfig(o.configPath)
		if err != nil {
			return s, err
		}
		if _, err := names.ParseNameRules(c.Map, c.Ignore); err != nil {
			return s, fmt.Errorf("%s: %w", o.configPath, err)
		}
		maps = append(maps, c.Map...)
		ignores = append(ignores, c.Ignore...)
		base = diffing.ToleranceSpec{
			Check: diffing.Check(c.Check), Atol: c.Atol, Rtol: c.Rtol,
			Threshold: c.Threshold, Exact: c.Exact, EqualNaN: c.EqualNaN,
		}
		rules, err := parseTolRules(c.Tol)
		if err != nil {
			return s, fmt.Errorf("%s: %w", o.configPath, err)
		}
		probe := diffing.ToleranceRules{Base: base, Rules: rules}
		if err := probe.Validate(); err != nil {
			return s, fmt.Errorf("%s: %w", o.configPath, err)
		}
		s.tol.Rules = rules
	}
	if _, err := names.ParseNameRules(o.maps, o.ignores); err != nil {
		return s, &usageError{err}
	}
	maps = append(maps, o.maps...)
	ignores = append(ignores, o.ignores...)
	if s.rules, err = names.ParseNameRules(maps, ignores); err != nil {
		return s, err
	}

	// Flags given on the command line overlay the file's base settings.
	for _, f := range []struct {
		name string
		v    float64
	}{{"atol", o.atol}, {"rtol", o.rtol}, {"threshold", o.threshold}} {
		if changed(f.name) && (math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 && f.name != "threshold") {
			return s, usagef("--%s must be a finite number >= 0, got %v", f.name, f.v)
		}
	}
	if o.logits && !changed("check") && base.Check == "" {
		base.Check = diffing.CheckNMSE // check-nmse.py's criterion
	}
	if changed("check") {
		base.Check = diffing.Check(o.check)
		base.Threshold = nil // the new check's default, unless --threshold
	}
	if changed("atol") {
		base.Atol = ptr(o.atol)
	}
	if changed("rtol") {
		base.Rtol = ptr(o.rtol)
	}
	if changed("threshold") {
		c := base.Check
		if c != diffing.CheckCosine && c != diffing.CheckNMSE {
			return s, usagef("--threshold is for --check cosine or --check nmse (use --atol/--rtol for allclose and max-abs)")
		}
		base.Threshold = ptr(o.threshold)
	}
	if changed("exact") {
		base.Exact = ptr(o.exact)
	}
	if changed("equal-nan") {
		base.EqualNaN = ptr(o.equalNaN)
	}
	flagRules, err := parseTolRules(o.tols)
	if err != nil {
		return s, &usageError{err}
	}
	s.tol.Base = base
	s.tol.Rules = append(s.tol.Rules, flagRules...)
	if err := s.tol.Validate(); err != nil {
		return s, &usageError{err}
	}

	if o.orderPath != "" {
		names, err := readOrderFile(o.orderPath)
		if err != nil {
			return s, err
		}
		s.order, s.orderPath = names, o.orderPath
	}
	return s, nil
}

func ptr[T any](v T) *T { return &v }

// rawOptions builds the reader options of one side from --dtype/--shape
// and the side's own --ref-*/--ours-* flags.
func rawOptions(dtype, sideDType, shape, sideShape, side string) (tensorfile.Options, error) {
	var opts tensorfile.Options
	flag := "--" + side + "-dtype"
	if sideDType == "" {
		sideDType, flag = dtype, "--dtype"
	}
	if sideDType != "" {
		dt, err := tensor.ParseDType(sideDType)
		if err != nil || dt == tensor.Unknown {
			return opts, usagef("%s %q: not a dtype (f32, f16, bf16, f64, f8_e4m3, f8_e5m2, i8..i64, u8..u64, bool)", flag, sideDType)
		}
		opts.DType = dt
	}
	flag = "--" + side + "-shape"
	if sideShape == "" {
		sideShape, flag = shape, "--shape"
	}
	if sideShape != "" {
		sh, err := parseShape(sideShape)
		if err != nil {
			return opts, usagef("%s %q: %v", flag, sideShape, err)
		}
		opts.Shape = sh
	}
	return opts, nil
}

// parseShape reads a shape written 1,8,32 or [1, 8, 32] or (1, 8, 32);
// "[]" or "scalar" is a scalar.
func parseShape(s string) ([]int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimPrefix(t, "["), "]")
	t = strings.TrimSpace(t)
	if t == "" || t == "scalar" || t == "()" {
		return []int64{}, nil
	}
	t = strings.TrimSuffix(strings.TrimPrefix(t, "("), ")")
	var fields []string
	if strings.Contains(t, ",") {
		// Commas separate: "1,,2" is a mistake, not [1 2]; a tuple's
		// trailing comma, "(4,)", is fine.
		fields = strings.Split(strings.TrimSuffix(strings.TrimSpace(t), ","), ",")
		for i, f := range fields {
			if fields[i] = strings.TrimSpace(f); fields[i] == "" {
				return nil, fmt.Errorf("empty dimension in %q (want dimensions like 1,8,32)", s)
			}
		}
	} else {
		fields = strings.Fields(t)
	}
	if len(fields) == 0 {
		return nil, fmt.Errorf("want dimensions like 1,8,32")
	}
	shape := make([]int64, len(fields))
	for i, f := range fields {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad dimension %q (want whole numbers >= 0, like 1,8,32)", f)
		}
		shape[i] = n
	}
	return shape, nil
}

// parseTolRules parses --tol values (see tensorsDoc).
func parseTolRules(vals []string) ([]diffing.ToleranceRule, error) {
	var out []diffing.ToleranceRule
	for _, v := range vals {
		r, err := parseTolRule(v)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func parseTolRule(v string) (diffing.ToleranceRule, error) {
	bad := func(format string, args ...any) (diffing.ToleranceRule, error) {
		return diffing.ToleranceRule{}, fmt.Errorf("--tol %q: "+format, append([]any{v}, args...)...)
	}
	i := strings.LastIndexByte(v, '=')
	if i <= 0 {
		return bad("want GLOB=ATOL:RTOL (or GLOB=exact, GLOB=cosine:T, GLOB=nmse:T, GLOB=max-abs:ATOL)")
	}
	r := diffing.ToleranceRule{Pattern: strings.TrimSpace(v[:i])}
	spec := strings.TrimSpace(v[i+1:])
	num := func(what, s string) (*float64, error) {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("--tol %q: %s %q is not a number", v, what, s)
		}
		if math.IsNaN(f) || math.IsInf(f, 0) || (f < 0 && what != "threshold") {
			return nil, fmt.Errorf("--tol %q: %s must be a finite number >= 0, got %v", v, what, f)
		}
		return &f, nil
	}
	head, tail, hasColon := strings.Cut(spec, ":")
	var err error
	switch head {
	case "exact":
		if hasColon {
			return bad("exact takes no value")
		}
		r.Exact = ptr(true)
	case string(diffing.CheckCosine), string(diffing.CheckNMSE):
		r.Check = diffing.Check(head)
		if r.Threshold, err = num("threshold", tail); err != nil {
			return diffing.ToleranceRule{}, err
		}
	case string(diffing.CheckMaxAbs):
		r.Check = diffing.CheckMaxAbs
		if r.Atol, err = num("atol", tail); err != nil {
			return diffing.ToleranceRule{}, err
		}
	case string(diffing.CheckAllClose):
		r.Check = diffing.CheckAllClose
		if hasColon {
			a, rt, _ := strings.Cut(tail, ":")
			if r.Atol, err = num("atol", a); err != nil {
				return diffing.ToleranceRule{}, err
			}
			if r.Rtol, err = num("rtol", rt); err != nil {
				return diffing.ToleranceRule{}, err
			}
		}
	default:
		if !hasColon {
			return bad("want ATOL:RTOL after '=' (write ATOL: for atol only, :RTOL for rtol only)")
		}
		if r.Atol, err = num("atol", head); err != nil {
			return diffing.ToleranceRule{}, err
		}
		if r.Rtol, err = num("rtol", tail); err != nil {
			return diffing.ToleranceRule{}, err
		}
		if r.Atol == nil && r.Rtol == nil {
			return bad("no tolerance given")
		}
	}
	return r, nil
}

// maxOrderFile bounds an --order file (a million names fit in 64 MiB).
const maxOrderFile = 64 << 20

// readOrderFile reads --order FILE (see tensorfile.ParseOrder).
func readOrderFile(path string) ([]string, error) {
	data, err := fileio.ReadFile(path, maxOrderFile, "an --order file")
	if err != nil {
		return nil, err
	}
	names, err := tensorfile.ParseOrder(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no names (want one REF name per line, or a JSON list)", path)
	}
	return names, nil
}
