package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/golden"
	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/internal/fileio"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile"
	"github.com/spf13/cobra"
)

const goldenDoc = `Golden checks: regression tests that keep no full tensors.

'refcmp golden record INPUT -o golden.json' reads every tensor of INPUT
once and keeps, per tensor: name, dtype, shape, element count; min, max,
mean and std of the finite elements (population std); the NaN and Inf
counts; the SHA-256 of the data (little-endian, C order: what sha256sum
gives for a raw dump); and the values at 8 fixed positions (the first and
last element and 6 spread between them; every element of a tensor of up
to 8). The file is JSON, versioned ("version": 1), and the same input
gives the same bytes.

'refcmp golden check INPUT golden.json' reads INPUT again and compares,
per tensor, in the golden file's order (--mode):

  stats      (default) names, shapes and dtypes; NaN and Inf counts
             exactly; min, max, mean, std and the sampled values within
             tolerance, |current - recorded| <= atol + rtol * |recorded|,
             with the defaults of 'refcmp tensors' by dtype (the looser of
             both sides), --atol/--rtol and --tol rules. A NaN statistic
             or value matches NaN, an infinity only the same infinity.
             Different bits within tolerance pass (the report says so).
             A small change to one unsampled element of a large tensor
             can pass (it moves no statistic beyond tolerance).
  exact      names, shapes, dtypes and the SHA-256: any changed bit fails.
  structure  names, shapes and dtypes only; no data are read.

Tensors in INPUT and not in the record are new, those in the record and
not in INPUT are missing: both fail the check, as changed tensors do. A
golden file recorded from one single tensor (.npy, raw) checks a single
tensor whatever its file name.

INPUT is anything refcmp reads: .safetensors, a sharded index or directory,
.npy, .npz, PyTorch .pt/.pth/.bin, raw data with --dtype/--shape or a
sidecar NAME.json, or a directory of dumps.

` + exitCodesHelp

const goldenExample = `  # Record today's known-good activations, commit the small JSON
  refcmp golden record ref_activations.safetensors -o testdata/activations.golden.json

  # In CI: still the same within tolerance?
  refcmp golden check port_activations.safetensors testdata/activations.golden.json

  # Determinism: bit for bit
  refcmp golden check --mode exact out.safetensors out.golden.json

  # Only names, shapes and dtypes
  refcmp golden check --mode structure model.safetensors model.golden.json`

func newGoldenCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "golden",
		Short:   "Record per-tensor summaries of known-good output and check new output against them",
		Long:    goldenDoc,
		Example: goldenExample,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			return usagef("unknown golden command %q (want record or check)", args[0])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("missing golden command (record or check)")
		},
	}
	cmd.AddCommand(newGoldenRecordCmd(a), newGoldenCheckCmd(a))
	return cmd
}

// goldenInput is what both golden commands need to read INPUT.
type goldenInput struct {
	dtype, shape string
	ignores      []string
}

func (g *goldenInput) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&g.dtype, "dtype", "", "dtype of a raw data INPUT (f32, f16, bf16, f64, i32, ...; default f32)")
	fs.StringVar(&g.shape, "shape", "", "shape of a raw data INPUT, e.g. 1,8,32 (default: 1-D, the whole file)")
	fs.StringArrayVar(&g.ignores, "ignore", nil, "leave out tensors whose name matches this `GLOB` (repeatable)")
}

// open opens INPUT and returns its tensors in execution order, without
// the ignored ones.
func (g *goldenInput) open(path string) (*tensorfile.Container, []tensor.Tensor, string, []string, error) {
	opts, err := rawInputOptions(g.dtype, g.shape)
	if err != nil {
		return nil, nil, "", nil, err
	}
	rules, err := names.ParseNameRules(nil, g.ignores)
	if err != nil {
		return nil, nil, "", nil, &usageError{err}
	}
	c, err := tensorfile.Open(path, opts)
	if err != nil {
		return nil, nil, "", nil, err
	}
	ts, order, notes := diffing.ExecOrder(c.Tensors, c.Order, c.Ordered, c.Single)
	notes = append(append([]string(nil), c.Notes...), notes...)
	kept := ts[:0]
	ignored := 0
	for _, t := range ts {
		if rules.Ignored(t.Name) {
			ignored++
			continue
		}
		kept = append(kept, t)
	}
	if ignored > 0 {
		notes = append(notes, fmt.Sprintf("--ignore left out %s of %s", plural(ignored, "tensor", "tensors"), path))
	}
	return c, kept, order, notes, nil
}

// goldenRecordOptions holds what `golden record` was asked to do.
type goldenRecordOptions struct {
	input  string
	output string
	ref    string // --ref REF: record the errors against it
	in     goldenInput
}

const goldenRecordDoc = `Read every tensor of INPUT once and write its golden record (see
'refcmp golden --help' for what it keeps): JSON, "version": 1, tensors in
execution order, to -o FILE or standard output. The same INPUT gives the
same bytes.

` + exitCodesHelp

func newGoldenRecordCmd(a *app) *cobra.Command {
	var o goldenRecordOptions
	cmd := &cobra.Command{
		Use:   "record [flags] INPUT -o GOLDEN.json",
		Short: "Write the golden record of INPUT: per-tensor shape, dtype, statistics, hash and sampled values",
		Long:  goldenRecordDoc,
		Example: `  refcmp golden record ref_activations.safetensors -o activations.golden.json
  refcmp golden record --dtype bf16 --shape 1,8,32 hidden.bin -o hidden.golden.json`,
		Args: exactArgs("INPUT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.input = args[0]
			return runGoldenRecord(a, &o)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "-", "write the golden record to this `FILE` (- for standard output)")
	cmd.Flags().StringVar(&o.ref, "ref", "", "also record each tensor's error against this reference `REF` (see 'golden check --help')")
	o.in.register(cmd)
	return cmd
}

func runGoldenRecord(a *app, o *goldenRecordOptions) error {
	c, ts, order, notes, err := o.in.open(o.input)
	if err != nil {
		return err
	}
	defer c.Close()
	g, err := golden.Record(o.input, c.Format, c.Single, order, ts)
	if err != nil {
		return fmt.Errorf("%s: %w", o.input, err)
	}
	if o.ref != "" {
		errs, err := refErrors(o.ref, o.input, &o.in)
		if err != nil {
			return err
		}
		recordErrors(&g, o.ref, errs)
	}
	data, err := golden.Encode(g)
	if err != nil {
		return err
	}
	if o.output == "-" {
		for _, n := range notes {
			fmt.Fprintf(a.stderr, "refcmp: note: %s\n", n)
		}
		_, err = a.stdout.Write(data)
		return err
	}
	if err := os.WriteFile(o.output, data, 0o666); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintf(a.stdout, "note: %s\n", n)
	}
	_, err = fmt.Fprintf(a.stdout, "recorded %s of %s into %s\n", plural(len(g.Tensors), "tensor", "tensors"), o.input, o.output)
	return err
}

// goldenCheckOptions holds what `golden check` was asked to do.
type goldenCheckOptions struct {
	input, golden string
	mode          string
	atol, rtol    float64
	tols          []string
	in            goldenInput
	changed       func(string) bool
	out           outputFlags
	plot          plotFlags
	ref           string  // --ref REF: check the errors against it
	worseBy       float64 // --worse-by
	common        bool    // --common
}

const goldenCheckDoc = `Check INPUT against a golden record (see 'refcmp golden --help' for
the modes and the tolerance rule). Reports changed tensors (what moved,
by how much, and what was allowed), new tensors and missing ones; exits 1
when there is any.

Per-tensor rules (--tol, repeatable, later rules win field by field):
    --tol 'GLOB=ATOL:RTOL'     e.g. 'layers.*.attn.*=1e-4:1e-3'
    --tol 'GLOB=max-abs:ATOL'  |current - recorded| <= ATOL
    --tol 'GLOB=exact'         the SHA-256 must match
GLOB matches the recorded name ('*' does not cross '/').

--format junit writes JUnit XML for CI (one testcase per tensor), and
--issues-log FILE appends, on failure, an [OPEN] entry to a Markdown log.

--common checks the tensors both sides hold: new and missing tensors are
listed in a note, not failures.

` + goldenRefHelp + `

` + exitCodesHelp

func newGoldenCheckCmd(a *app) *cobra.Command {
	o := goldenCheckOptions{mode: string(golden.ModeStats)}
	var modes []string
	for _, m := range golden.Modes() {
		modes = append(modes, string(m))
	}
	cmd := &cobra.Command{
		Use:   "check [flags] INPUT GOLDEN.json",
		Short: "Check INPUT against a golden record: new, missing and changed tensors",
		Long:  goldenCheckDoc,
		Example: `  refcmp golden check port_activations.safetensors activations.golden.json
  refcmp golden check --mode exact run2.safetensors run1.golden.json
  refcmp golden check --tol 'lm_head=1e-3:1e-2' --format markdown out.safetensors out.golden.json >> "$GITHUB_STEP_SUMMARY"`,
		Args: exactArgs("INPUT", "GOLDEN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.input, o.golden = args[0], args[1]
			o.changed = cmd.Flags().Changed
			return runGoldenCheck(a, &o)
		},
	}
	fs := cmd.Flags()
	fs.Var(&choiceValue{&o.mode, modes}, "mode", "what to compare: "+strings.Join(modes, ", ")+" (see above)")
	fs.Float64Var(&o.atol, "atol", 0, "absolute tolerance of stats mode (default by dtype)")
	fs.Float64Var(&o.rtol, "rtol", 0, "relative tolerance of stats mode (default by dtype)")
	fs.StringArrayVar(&o.tols, "tol", nil, "per-tensor rule `GLOB=ATOL:RTOL` (or GLOB=max-abs:ATOL, GLOB=exact); repeatable")
	fs.StringVar(&o.ref, "ref", "", "check each tensor's error against this reference `REF` with the recorded error (mode error)")
	fs.Float64Var(&o.worseBy, "worse-by", diffing.DefaultWorseBy, "with --ref, the `FACTOR` by which max|diff|, NMSE and mismatches may grow")
	fs.BoolVar(&o.common, "common", false, "check only the tensors both sides hold; list the others in a note")
	o.in.register(cmd)
	o.out.register(cmd, formatText, formatJSON, formatMarkdown, formatJUnit)
	o.plot.register(cmd)
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions(modes, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

// tolerance builds the tolerance rules of stats mode from the flags.
func (o *goldenCheckOptions) tolerance() (diffing.ToleranceRules, error) {
	var rs diffing.ToleranceRules
	changed := o.changed
	if changed == nil {
		changed = func(string) bool { return false }
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"atol", o.atol}, {"rtol", o.rtol}} {
		if !changed(f.name) {
			continue
		}
		if f.v != f.v || f.v < 0 || f.v > 1e308 {
			return rs, usagef("--%s must be a finite number >= 0, got %v", f.name, f.v)
		}
		v := f.v
		if f.name == "atol" {
			rs.Base.Atol = &v
		} else {
			rs.Base.Rtol = &v
		}
	}
	rules, err := parseTolRules(o.tols)
	if err != nil {
		return rs, &usageError{err}
	}
	for _, r := range rules {
		if r.Check == diffing.CheckCosine || r.Check == diffing.CheckNMSE {
			return rs, usagef("--tol %q: golden check compares statistics and sampled values; use GLOB=ATOL:RTOL, GLOB=max-abs:ATOL or GLOB=exact", r.Pattern+"="+string(r.Check))
		}
	}
	rs.Rules = rules
	if err := rs.Validate(); err != nil {
		return rs, &usageError{err}
	}
	return rs, nil
}

// maxGoldenFile bounds a golden file read by golden check (a record of a
// million tensors is about 300 MB).
const maxGoldenFile = 1 << 30

func runGoldenCheck(a *app, o *goldenCheckOptions) error {
	tol, err := o.tolerance()
	if err != nil {
		return err
	}
	mode := golden.Mode(o.mode)
	if err := (&baselineFlags{worseBy: o.worseBy}).check(); err != nil {
		return err
	}
	if o.ref != "" && o.changed != nil && o.changed("mode") {
		return usagef("--ref checks the errors against the reference (mode error); it takes no --mode")
	}
	data, err := fileio.ReadFile(o.golden, maxGoldenFile, "a golden file")
	if err != nil {
		return err
	}
	rec, err := golden.Parse(data)
	if err != nil {
		if swapped(o.input, o.golden) {
			return usagef("%s is not a golden file and %s is: arguments are INPUT GOLDEN.json; did you swap them?", o.golden, o.input)
		}
		return fmt.Errorf("%s: %w", o.golden, err)
	}
	c, ts, _, notes, err := o.in.open(o.input)
	if err != nil {
		return err
	}
	defer c.Close()

	// Leave out what --ignore names on the recorded side too.
	rules, _ := names.ParseNameRules(nil, o.in.ignores)
	kept := rec.Tensors[:0:0]
	for _, t := range rec.Tensors {
		if !rules.Ignored(t.Name) {
			kept = append(kept, t)
		}
	}
	if n := len(rec.Tensors) - len(kept); n > 0 {
		notes = append(notes, fmt.Sprintf("--ignore left out %s of the golden record", plural(n, "tensor", "tensors")))
	}
	rec.Tensors = kept

	cur, err := golden.Current(rec, o.input, c.Format, c.Single, ts, mode)
	if err != nil {
		return fmt.Errorf("%s: %w", o.input, err)
	}
	opt := golden.CheckOptions{Mode: mode, Tolerance: tol, Common: o.common, WorseBy: o.worseBy}
	if o.ref != "" {
		if rec.Ref == "" {
			return fmt.Errorf("%s: recorded without --ref, so it holds no errors to check against (record it with 'refcmp golden record --ref REF')", o.golden)
		}
		if opt.Errors, err = refErrors(o.ref, o.input, &o.in); err != nil {
			return err
		}
	}
	rep := golden.Check(rec, cur, opt)
	rep.Golden.Path = o.golden
	rep.Notes = append(notes, rep.Notes...)
	if rep.Notes == nil {
		rep.Notes = []string{}
	}

	view := goldenView{Report: rep, All: o.out.all}
	if err := o.plot.golden(view, "refcmp golden check "+o.input+" "+o.golden); err != nil {
		return err
	}
	return o.out.render(a, rep, rep.Pass, formatRenderers{
		text:     func(st textStyle) error { return renderGoldenText(safeText{a.stdout}, view, st) },
		markdown: func() error { return renderGoldenMarkdown(a.stdout, view) },
		junit:    func() ciSuite { return goldenSuite(o, view) },
	})
}

// swapped reports golden check's arguments given the other way round:
// the INPUT argument reads as a golden file.
func swapped(input, goldenPath string) bool {
	data, err := readBounded(input, maxBaselineBytes)
	if err != nil {
		return false
	}
	_, err = golden.Parse(data)
	return err == nil
}
