package main

import (
	"fmt"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile"
	"github.com/spf13/cobra"
)

const inspectDoc = `List the tensors of one file: names, dtypes, shapes, parameters and
bytes, from the headers alone (no tensor data is read). FILE is anything
refcmp reads: .safetensors, a sharded index or a checkpoint directory,
.npy, .npz, a PyTorch .pt/.pth/.bin (zip or legacy; no pickled code runs),
a raw file with --dtype/--shape or a sidecar NAME.json, a directory of
dumps, or a loaded-weights manifest.

Tensors are listed in execution order, as 'refcmp tensors' orders them:
the "refcmp.order" entry of a safetensors __metadata__, else the
container's insertion order (.npz, .pt), else a natural sort of names
(layers.2 before layers.10). Without --all, rows that differ only in a
layer index fold into one (layers.{0..31}.mlp.up_proj.weight).

--stats reads every tensor once and adds min, max, mean and std (of the
finite elements, population std) and the NaN and Inf counts.

--check-finite reads the floating-point tensors once and exits 1 when any
holds a NaN or an infinity, naming the first such tensor in execution
order and the index of its first non-finite element (integer and bool
tensors cannot hold one and are not read).

FILE:NAME inspects one member of a container (model.safetensors:lm_head.weight),
and FILE:NAME[0, :, 3:5] (or FILE[...] for a single tensor) a numpy basic
slice of it: integers (negative from the end), ranges a:b, ":" and "...";
only the slice's bytes are read.

--values prints the values as numpy does (np.array2string with ", "
between elements): a slice of more than 1000 elements shows the first and
last --edge N items (default 3) of each axis with "..." between them, and
only those elements are read.

Output: text, --format json (fields in docs/json.md) or --format markdown;
with --check-finite also --format junit (one testcase per tensor).

` + exitCodesHelp

const inspectExample = `  # What is in this checkpoint?
  refcmp inspect model.safetensors.index.json

  # Statistics of every activation of a dump
  refcmp inspect --stats ref_activations.safetensors

  # Where does the first NaN appear in the forward pass?
  refcmp inspect --check-finite port_activations.safetensors

  # A raw float32 buffer
  refcmp inspect --stats --dtype f32 --shape 1,8,32 hidden.bin`

// inspectOptions holds what the inspect command was asked to do.
type inspectOptions struct {
	path         string
	dtype, shape string
	stats        bool
	checkFinite  bool
	values       bool // --values
	edge         int  // --edge N
	out          outputFlags
}

func newInspectCmd(a *app) *cobra.Command {
	o := inspectOptions{edge: 3}
	cmd := &cobra.Command{
		Use:     "inspect [flags] FILE[:NAME][SLICE]",
		Short:   "List a file's tensors; with --stats their statistics; with --check-finite find the first NaN/Inf",
		Long:    inspectDoc,
		Example: inspectExample,
		Args:    exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.path = args[0]
			return runInspect(a, &o)
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&o.stats, "stats", false, "read the data: min, max, mean, std, NaN and Inf counts per tensor (one pass)")
	fs.BoolVar(&o.checkFinite, "check-finite", false, "exit 1 when any tensor holds NaN or Inf, naming the first (execution order) and its index")
	fs.StringVar(&o.dtype, "dtype", "", "dtype of a raw data file (f32, f16, bf16, f64, i32, ...; default f32)")
	fs.StringVar(&o.shape, "shape", "", "shape of a raw data file, e.g. 1,8,32 (default: 1-D, the whole file)")
	fs.BoolVar(&o.values, "values", false, "print the values, numpy-style (edge items and ... past 1000 elements)")
	fs.IntVar(&o.edge, "edge", 3, "with --values, the `N` items shown at each end of a summarized axis")
	o.out.register(cmd, formatText, formatJSON, formatMarkdown, formatJUnit)
	return cmd
}

// inspectReport is the result of `refcmp inspect`: plain data, and with
// --format json refcmp's stable contract (docs/json.md). Lists are never nil.
type inspectReport struct {
	Source string `json:"source"` // the path as given
	Format string `json:"format"` // safetensors, npy, npz, pytorch-zip, ..., or "listing" (a manifest, an index without shards)
	// Order is where the tensor order came from: "metadata" (refcmp.order),
	// "insertion" (.npz, .pt), "natural", "single" (one tensor) or
	// "listed" (a manifest's own order).
	Order   string          `json:"order"`
	Counts  inspectCounts   `json:"counts"`
	Finite  *inspectFinite  `json:"finite"` // null without --check-finite
	Tensors []inspectTensor `json:"tensors"`
	Notes   []string        `json:"notes"`
	// Member and Slice are NAME and SLICE of FILE:NAME[SLICE], omitted
	// when not given.
	Member string `json:"member,omitempty"`
	Slice  string `json:"slice,omitempty"`
}

type inspectCounts struct {
	Tensors int   `json:"tensors"`
	Params  int64 `json:"params"` // elements, summed over tensors of known shape
	Bytes   int64 `json:"bytes"`  // data bytes, summed over tensors of known shape and dtype
}

// inspectFinite is the verdict of --check-finite.
type inspectFinite struct {
	Pass bool `json:"pass"`
	// Tensors counts the tensors holding a NaN or an infinity.
	Tensors int `json:"tensors"`
	// First is the first of them in execution order, or null.
	First *inspectNonFinite `json:"first"`
}

// inspectNonFinite locates a non-finite element.
type inspectNonFinite struct {
	Name   string       `json:"name"`
	Step   int          `json:"step"`   // the tensor's position in execution order (0-based)
	Index  []int64      `json:"index"`  // the element's index
	Offset int64        `json:"offset"` // its flat C-order offset
	Value  tensor.Float `json:"value"`  // "NaN", "Infinity" or "-Infinity"
}

// inspectTensor is one tensor of the listing.
type inspectTensor struct {
	Name   string       `json:"name"`
	DType  tensor.DType `json:"dtype"`  // "" when the source does not say
	Shape  []int64      `json:"shape"`  // null when the source does not say
	Params *int64       `json:"params"` // null when the shape is unknown
	Bytes  *int64       `json:"bytes"`  // null when the shape or dtype is unknown
	// Decoded is the dtype the data are read as when DType is a GGML
	// block type (Q4_K... read as F32); omitted otherwise.
	Decoded tensor.DType `json:"decoded,omitempty"`
	// Stats are filled when the data were read (--stats, or
	// --check-finite for floating-point tensors); null otherwise.
	Stats *diffing.SideStats `json:"stats"`
	// FirstNonFinite is the first NaN or Inf of a read tensor, or null.
	FirstNonFinite *diffing.Sample `json:"first_nonfinite"`
	// Values are the values shown (--values), omitted otherwise.
	Values *inspectValues `json:"values,omitempty"`
}

// inspectValues are the values --values shows of a tensor or slice.
type inspectValues struct {
	Shape      []int64 `json:"shape"`      // of the slice
	Summarized bool    `json:"summarized"` // edge items only
	// Shown lists, per axis of Shape, the positions shown; Data holds
	// their values in C order.
	Shown [][]int64      `json:"shown"`
	Data  []tensor.Float `json:"data"`
	// Text is the numpy-style text.
	Text string `json:"text"`
}

func runInspect(a *app, o *inspectOptions) error {
	opts, err := rawInputOptions(o.dtype, o.shape)
	if err != nil {
		return err
	}
	if o.edge < 1 {
		return usagef("--edge must be >= 1, got %d", o.edge)
	}
	if o.out.format == formatJUnit && !o.checkFinite {
		return usagef("--format junit is for --check-finite (a testcase per tensor)")
	}
	path, member, slice := splitInspectArg(o.path)
	read := o.stats || o.checkFinite || o.values || member != "" || slice != ""
	rep := inspectReport{Source: path, Member: member, Slice: slice, Tensors: []inspectTensor{}, Notes: []string{}}
	c, openErr := tensorfile.Open(path, opts)
	if openErr != nil {
		if read {
			return openErr
		}
		// A manifest, or an index whose shards are absent: the listing
		// is all there is.
		l, err := tensorfile.List(o.path)
		if err != nil {
			return openErr
		}
		rep.Format, rep.Order = "listing", "listed"
		rep.Notes = append(rep.Notes, l.Notes...)
		for _, w := range l.Weights {
			rep.Tensors = append(rep.Tensors, newInspectTensor(w.Name, w.DType, w.Shape))
		}
	} else {
		defer c.Close()
		ts, order, notes := diffing.ExecOrder(c.Tensors, c.Order, c.Ordered, c.Single)
		rep.Format, rep.Order = c.Format, order
		rep.Notes = append(append(rep.Notes, c.Notes...), notes...)
		if ts, err = pickMember(path, member, ts); err != nil {
			return err
		}
		if member != "" {
			rep.Order = diffing.OrderSingle
		}
		for _, t := range ts {
			t, err := sliceTensor(t, slice)
			if err != nil {
				return fmt.Errorf("%s: %w", o.path, err)
			}
			it := newInspectTensor(t.Name, t.DType, t.Shape)
			storedCells(&it, t)
			if o.stats || (o.checkFinite && t.DType.IsFloat()) {
				s, err := diffing.Summarize(t, diffing.SummaryOptions{})
				if err != nil {
					return fmt.Errorf("%s: %w", o.path, err)
				}
				it.Stats, it.FirstNonFinite = &s.Stats, s.FirstNonFinite
			}
			if o.values {
				v, err := diffing.ReadValues(t, nil, o.edge, numpyThreshold)
				if err != nil {
					return fmt.Errorf("%s: %w", o.path, err)
				}
				it.Values = newInspectValues(v)
			}
			rep.Tensors = append(rep.Tensors, it)
		}
	}
	for _, t := range rep.Tensors {
		rep.Counts.Tensors++
		if t.Params != nil {
			rep.Counts.Params += *t.Params
		}
		if t.Bytes != nil {
			rep.Counts.Bytes += *t.Bytes
		}
	}
	if o.checkFinite {
		f := &inspectFinite{Pass: true}
		for i, t := range rep.Tensors {
			if t.Stats == nil || t.Stats.NaN+t.Stats.Inf == 0 {
				continue
			}
			f.Pass = false
			f.Tensors++
			if f.First == nil && t.FirstNonFinite != nil {
				e := t.FirstNonFinite
				f.First = &inspectNonFinite{Name: t.Name, Step: i, Index: e.Index, Offset: e.Offset, Value: e.Value}
			}
		}
		rep.Finite = f
	}

	view := inspectView{Report: rep, Stats: o.stats, CheckFinite: o.checkFinite, All: o.out.all}
	var junit func() ciSuite
	if o.checkFinite {
		junit = func() ciSuite { return inspectSuite(o, view) }
	}
	return o.out.render(a, rep, rep.Finite == nil || rep.Finite.Pass, formatRenderers{
		text:     func(st textStyle) error { return renderInspectText(safeText{a.stdout}, view, st) },
		markdown: func() error { return renderInspectMarkdown(a.stdout, view) },
		junit:    junit,
	})
}

func newInspectTensor(name string, dt tensor.DType, shape []int64) inspectTensor {
	it := inspectTensor{Name: name, DType: dt, Shape: shape}
	if shape != nil {
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		it.Params = &n
		if dt != tensor.Unknown {
			b := n * int64(dt.Size())
			it.Bytes = &b
		}
	}
	return it
}

// rawInputOptions reads --dtype and --shape, which describe a raw data
// file without a sidecar.
func rawInputOptions(dtype, shape string) (tensorfile.Options, error) {
	var opts tensorfile.Options
	if dtype != "" {
		dt, err := tensor.ParseDType(dtype)
		if err != nil || dt == tensor.Unknown {
			return opts, usagef("--dtype %q: not a dtype (f32, f16, bf16, f64, f8_e4m3, f8_e5m2, i8..i64, u8..u64, bool)", dtype)
		}
		opts.DType = dt
	}
	if shape != "" {
		sh, err := parseShape(shape)
		if err != nil {
			return opts, usagef("--shape %q: %v", shape, err)
		}
		opts.Shape = sh
	}
	return opts, nil
}
