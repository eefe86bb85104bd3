package main

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/tensortest"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile"
	"github.com/rogpeppe/go-internal/testscript"
)

// cmdIndexnames is the script command
//
//	indexnames [-v REGEXP] INDEX OUT
//
// It writes the names in INDEX's weight_map (a model.safetensors.index.json),
// sorted, one per line, leaving out those REGEXP matches: a manifest of a
// port that loads all of them but some. It reads the JSON itself, so the
// test does not depend on refcmp's own index reader.
func cmdIndexnames(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! indexnames")
	}
	var drop *regexp.Regexp
	if len(args) > 2 && args[0] == "-v" {
		drop = regexp.MustCompile(args[1])
		args = args[2:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: indexnames [-v REGEXP] INDEX OUT")
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &index))
	names := make([]string, 0, len(index.WeightMap))
	for n := range index.WeightMap {
		if drop == nil || !drop.MatchString(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(strings.Join(names, "\n")+"\n"), 0o666))
}

// tensorSpec is one tensor for writeSafetensors.
type tensorSpec struct {
	Name  string
	DType tensor.DType
	Shape []int64
}

// cmdMksafetensors is the script command
//
//	mksafetensors [-fill zero|index] [-meta KEY=VALUE]... OUT SPEC...
//	mksafetensors -raw HEADERFILE [-hdrlen N] [-data N] OUT
//
// The first form writes a valid safetensors file. A SPEC is one tensor,
// 'NAME DTYPE SHAPE' (e.g. 'model.embed.weight F32 [8, 4]', '[]' for a
// scalar, DTYPE in any spelling tensor.ParseDType accepts), or @FILE,
// a file with one such line per tensor (blank lines and # comments
// skipped). NAME may hold brace groups, which expand like a shell's:
// 'layers.{0..3}.{q,k,v}_proj.weight F32 [4, 4]' is twelve tensors.
// -fill index stores element i as the value i (bools alternate, F8 types
// stay zero); the default is all zeros.
//
// The second form writes a possibly malformed file: the 8-byte length
// (-hdrlen, default the header's real length), HEADERFILE's bytes without
// a trailing newline, then -data N zero bytes.
func cmdMksafetensors(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! mksafetensors")
	}
	fs := flag.NewFlagSet("mksafetensors", flag.ContinueOnError)
	fill := fs.String("fill", "zero", "zero or index")
	raw := fs.String("raw", "", "header file for a raw (possibly malformed) file")
	hdrlen := fs.Int64("hdrlen", -1, "header length to write (raw form)")
	data := fs.Int64("data", 0, "zero bytes after the header (raw form)")
	meta := map[string]string{}
	fs.Func("meta", "KEY=VALUE for __metadata__", func(s string) error {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("want KEY=VALUE")
		}
		meta[k] = v
		return nil
	})
	if err := fs.Parse(args); err != nil {
		ts.Fatalf("mksafetensors: %v", err)
	}
	if fs.NArg() < 1 {
		ts.Fatalf("usage: mksafetensors [flags] OUT SPEC...")
	}
	out := ts.MkAbs(fs.Arg(0))
	var buf bytes.Buffer
	if *raw != "" {
		header := strings.TrimRight(ts.ReadFile(*raw), "\n")
		n := *hdrlen
		if n < 0 {
			n = int64(len(header))
		}
		binary.Write(&buf, binary.LittleEndian, uint64(n))
		buf.WriteString(header)
		buf.Write(make([]byte, *data))
	} else {
		var specs []tensorSpec
		for _, a := range fs.Args()[1:] {
			lines := []string{a}
			if file, ok := strings.CutPrefix(a, "@"); ok {
				lines = strings.Split(ts.ReadFile(file), "\n")
			}
			for _, l := range lines {
				s, err := parseTensorSpecs(l)
				ts.Check(err)
				specs = append(specs, s...)
			}
		}
		ts.Check(writeSafetensors(&buf, specs, meta, *fill))
	}
	ts.Check(os.WriteFile(out, buf.Bytes(), 0o666))
}

// parseTensorSpecs parses one spec line, expanding braces in the name.
// A blank or comment line gives no specs.
func parseTensorSpecs(line string) ([]tensorSpec, error) {
	line = strings.TrimSpace(line)
	if line == "" || strings.HasPrefix(line, "#") {
		return nil, nil
	}
	f := strings.Fields(line)
	if len(f) < 3 {
		return nil, fmt.Errorf("tensor spec %q: want NAME DTYPE SHAPE", line)
	}
	dt, err := tensor.ParseDType(f[1])
	if err != nil {
		return nil, fmt.Errorf("tensor spec %q: %v", line, err)
	}
	shapeText := strings.Join(f[2:], "")
	if !strings.HasPrefix(shapeText, "[") || !strings.HasSuffix(shapeText, "]") {
		return nil, fmt.Errorf("tensor spec %q: shape must look like [2,3]", line)
	}
	shape := []int64{}
	if inner := shapeText[1 : len(shapeText)-1]; inner != "" {
		for _, d := range strings.Split(inner, ",") {
			n, err := strconv.ParseInt(d, 10, 64)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("tensor spec %q: bad dimension %q", line, d)
			}
			shape = append(shape, n)
		}
	}
	var specs []tensorSpec
	for _, name := range expandBraces(f[0]) {
		specs = append(specs, tensorSpec{Name: name, DType: dt, Shape: shape})
	}
	return specs, nil
}

// expandBraces expands the first {a,b,c} or {N..M} group of s and recurses
// on the results: "l.{0..1}.{q,k}" gives l.0.q, l.0.k, l.1.q, l.1.k.
func expandBraces(s string) []string {
	i := strings.IndexByte(s, '{')
	j := strings.IndexByte(s, '}')
	if i < 0 || j < i {
		return []string{s}
	}
	pre, body, post := s[:i], s[i+1:j], s[j+1:]
	var alts []string
	if lo, hi, ok := strings.Cut(body, ".."); ok {
		a, err1 := strconv.Atoi(lo)
		b, err2 := strconv.Atoi(hi)
		if err1 == nil && err2 == nil {
			for k := a; k <= b; k++ {
				alts = append(alts, strconv.Itoa(k))
			}
		}
	}
	if alts == nil {
		alts = strings.Split(body, ",")
	}
	var out []string
	for _, a := range alts {
		out = append(out, expandBraces(pre+a+post)...)
	}
	return out
}

// writeSafetensors writes a valid safetensors file: tensors in the given
// order, data contiguous, header padded with spaces to a multiple of 8.
// fill "index" stores element i as the value i (see indexValue), "zero"
// all zeros.
func writeSafetensors(w io.Writer, specs []tensorSpec, meta map[string]string, fill string) error {
	ts := make([]denseTensor, len(specs))
	for i, s := range specs {
		ts[i] = denseTensor{Name: s.Name, DType: s.DType, Shape: s.Shape, Vals: make([]float64, numel(s.Shape))}
		switch fill {
		case "zero":
		case "index":
			for j := range ts[i].Vals {
				ts[i].Vals[j] = indexValue(s.DType, int64(j))
			}
		default:
			return fmt.Errorf("-fill %q: want zero or index", fill)
		}
	}
	_, err := w.Write(safetensorsBytes(ts, meta))
	return err
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// indexValue is what -fill index stores as element i of a d tensor: i
// itself, wrapped to an integer type's width, alternating 0 and 1 for
// bools, with a float type's mantissa truncated (F16 is +Inf from
// 65520); F8 types stay zero, as encodeValues leaves them.
func indexValue(d tensor.DType, i int64) float64 {
	switch d {
	case tensor.Bool:
		return float64(i % 2)
	case tensor.U8:
		return float64(uint8(i))
	case tensor.I8:
		return float64(int8(i))
	case tensor.U16:
		return float64(uint16(i))
	case tensor.I16:
		return float64(int16(i))
	case tensor.U32:
		return float64(uint32(i))
	case tensor.I32:
		return float64(int32(i))
	case tensor.F16:
		if i >= 65520 {
			return math.Inf(1)
		}
		if n := bits.Len64(uint64(i)); n > 11 { // 11 significant bits
			return float64(i >> (n - 11) << (n - 11))
		}
	case tensor.BF16:
		return float64(math.Float32frombits(math.Float32bits(float32(i)) &^ 0xffff))
	case tensor.F32:
		return float64(float32(i))
	}
	return float64(i)
}

// denseTensor is a tensor held as float64 values in C order, for the
// script commands.
type denseTensor struct {
	Name  string
	DType tensor.DType
	Shape []int64
	Vals  []float64
}

// cmdMknpy is the script command
//
//	mknpy [-dtype D] [-fortran] [-big] [-fill arange|randn:SEED] OUT SHAPE [VALUE...]
//
// It writes a .npy (a raw little-endian C-order file when OUT does not end
// in .npy) of dtype D (default f32; any spelling tensor.ParseDType
// accepts, but not bf16 or f8 in .npy) and SHAPE (2,3 or [2,3]; [] for a
// scalar), holding the VALUEs (numbers, nan, inf, -inf) in C order, or
// the -fill values: 0, 1, 2, ... or normal samples from a fixed
// generator. -fortran stores Fortran order, -big big-endian bytes.
func cmdMknpy(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! mknpy")
	}
	fs := flag.NewFlagSet("mknpy", flag.ContinueOnError)
	dt := fs.String("dtype", "f32", "dtype")
	fortran := fs.Bool("fortran", false, "Fortran order")
	big := fs.Bool("big", false, "big-endian")
	fill := fs.String("fill", "", "arange or randn:SEED")
	if err := fs.Parse(args); err != nil || fs.NArg() < 2 {
		ts.Fatalf("usage: mknpy [-dtype D] [-fortran] [-big] [-fill arange|randn:SEED] OUT SHAPE [VALUE...]")
	}
	d, err := tensor.ParseDType(*dt)
	ts.Check(err)
	shape, err := parseShape(fs.Arg(1))
	ts.Check(err)
	t := denseTensor{Name: filepath.Base(fs.Arg(0)), DType: d, Shape: shape}
	n := int(numel(shape))
	switch {
	case *fill == "arange":
		for i := range n {
			t.Vals = append(t.Vals, float64(i))
		}
	case strings.HasPrefix(*fill, "randn:"):
		seed, err := strconv.ParseUint(strings.TrimPrefix(*fill, "randn:"), 10, 64)
		ts.Check(err)
		t.Vals = randn(seed, n)
	case *fill != "":
		ts.Fatalf("mknpy: -fill %q: want arange or randn:SEED", *fill)
	default:
		for _, s := range fs.Args()[2:] {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				ts.Fatalf("mknpy: value %q: %v", s, err)
			}
			t.Vals = append(t.Vals, v)
		}
	}
	if len(t.Vals) != n {
		ts.Fatalf("mknpy: shape %v holds %d values, got %d", shape, n, len(t.Vals))
	}
	out := ts.MkAbs(fs.Arg(0))
	if strings.HasSuffix(out, ".npy") {
		ts.Check(writeNpy(out, t, *fortran, *big))
		return
	}
	ts.Check(os.WriteFile(out, encodeValues(t.DType, t.Vals), 0o666))
}

// randn gives n standard normal samples from a fixed generator
// (splitmix64 and Box-Muller), the same on every platform.
func randn(seed uint64, n int) []float64 {
	s := seed
	next := func() float64 {
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		z ^= z >> 31
		return (float64(z>>11) + 0.5) / (1 << 53)
	}
	out := make([]float64, n)
	for i := 0; i < n; i += 2 {
		u, v := next(), next()
		r := math.Sqrt(-2 * math.Log(u))
		out[i] = r * math.Cos(2*math.Pi*v)
		if i+1 < n {
			out[i+1] = r * math.Sin(2*math.Pi*v)
		}
	}
	return out
}

// cmdTransform is the script command
//
//	transform [-dtype D] [-name NAME] IN OUT OP [ARG...]
//
// It reads one tensor from IN (any file refcmp reads; PATH:NAME picks a
// member of a container), applies OP and writes OUT: .npy, .safetensors
// (one tensor called NAME, default the input's name) or a raw .bin. The
// output keeps the input's dtype unless -dtype says otherwise. OPs, each a
// transformation a port gets wrong:
//
//	copy                    nothing
//	transpose               swap the last two axes
//	permute P               reorder axes, e.g. 0,2,3,1 (channels last)
//	scale K                 multiply by K: a number, sqrt(X), 1/sqrt(X) or A/B
//	add C                   add C
//	negate                  flip the sign
//	shift AXIS N            roll by N along AXIS (numpy.roll)
//	zero AXIS LO HI         zero the slice LO:HI of AXIS
//	perturb AXIS LO HI D    add D to the slice LO:HI of AXIS
//	const C                 every element C
//	round DTYPE             round to DTYPE (bf16, f16) and back
//	noise REL SEED          multiply by 1 + REL * (a standard normal sample)
//	set I V                 element I (flat, C order) becomes V (nan, inf ok)
//	reshape SHAPE           the same data in C order, another shape
//	crop AXIS N             keep the first N entries of AXIS
func cmdTransform(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! transform")
	}
	fs := flag.NewFlagSet("transform", flag.ContinueOnError)
	dt := fs.String("dtype", "", "output dtype")
	name := fs.String("name", "", "output tensor name")
	if err := fs.Parse(args); err != nil || fs.NArg() < 3 {
		ts.Fatalf("usage: transform [-dtype D] [-name NAME] IN OUT OP [ARG...]")
	}
	t, err := readDense(ts.MkAbs(fs.Arg(0)))
	ts.Check(err)
	t, err = applyOp(t, fs.Arg(2), fs.Args()[3:])
	if err != nil {
		ts.Fatalf("transform %s: %v", fs.Arg(2), err)
	}
	if *dt != "" {
		d, err := tensor.ParseDType(*dt)
		ts.Check(err)
		t.DType = d
	}
	if *name != "" {
		t.Name = *name
	}
	ts.Check(writeDense(ts.MkAbs(fs.Arg(1)), []denseTensor{t}, nil))
}

// cmdPack is the script command
//
//	pack [-order] OUT NAME=FILE...
//
// It writes the single tensors in the FILEs (PATH:NAME for a member) into
// OUT, an .npz (stored members, in the given order) or a .safetensors
// file; -order also records the given order as __metadata__
// "refcmp.order" (safetensors only).
func cmdPack(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! pack")
	}
	order := false
	if len(args) > 0 && args[0] == "-order" {
		order, args = true, args[1:]
	}
	if len(args) < 1 {
		ts.Fatalf("usage: pack [-order] OUT NAME=FILE...")
	}
	var ts2 []denseTensor
	var names []string
	for _, a := range args[1:] {
		n, f, ok := strings.Cut(a, "=")
		if !ok {
			ts.Fatalf("pack: %q: want NAME=FILE", a)
		}
		t, err := readDense(ts.MkAbs(f))
		ts.Check(err)
		t.Name = n
		ts2 = append(ts2, t)
		names = append(names, n)
	}
	var meta map[string]string
	if order {
		b, _ := json.Marshal(names)
		meta = map[string]string{tensorfile.OrderKey: string(b)}
	}
	ts.Check(writeDense(ts.MkAbs(args[0]), ts2, meta))
}

// readDense reads one tensor (PATH or PATH:NAME) as float64 values.
func readDense(arg string) (denseTensor, error) {
	in, closeIn, err := openInput("IN", arg, tensorfile.Options{})
	if err != nil {
		return denseTensor{}, err
	}
	defer closeIn()
	if len(in.Tensors) != 1 {
		return denseTensor{}, fmt.Errorf("%s holds %d tensors; name one as PATH:NAME", arg, len(in.Tensors))
	}
	t := in.Tensors[0]
	vals, err := diffing.Float64s(t)
	if err != nil {
		return denseTensor{}, fmt.Errorf("%s: %v", arg, err)
	}
	return denseTensor{Name: t.Name, DType: t.DType, Shape: slices.Clone(t.Shape), Vals: vals}, nil
}

// decodeValues reads values stored as d, with the engine's decoder.
func decodeValues(d tensor.DType, b []byte) ([]float64, error) {
	n := int64(len(b) / d.Size())
	return diffing.Float64s(tensor.Tensor{DType: d, Shape: []int64{n}, Data: bytes.NewReader(b)})
}

// encodeValues stores vals as d, little-endian; float types round to
// nearest even, F8 types stay zero.
func encodeValues(d tensor.DType, vals []float64) []byte {
	sz := d.Size()
	b := make([]byte, len(vals)*sz)
	le := binary.LittleEndian
	for i, v := range vals {
		p := b[i*sz:]
		switch d {
		case tensor.F64:
			le.PutUint64(p, math.Float64bits(v))
		case tensor.F32:
			le.PutUint32(p, math.Float32bits(float32(v)))
		case tensor.BF16:
			le.PutUint16(p, bf16Bits(float32(v)))
		case tensor.F16:
			le.PutUint16(p, f16Bits(v))
		case tensor.I64:
			le.PutUint64(p, uint64(int64(v)))
		case tensor.I32:
			le.PutUint32(p, uint32(int32(v)))
		case tensor.I16:
			le.PutUint16(p, uint16(int16(v)))
		case tensor.I8:
			p[0] = byte(int8(v))
		case tensor.U64:
			le.PutUint64(p, uint64(v))
		case tensor.U32:
			le.PutUint32(p, uint32(v))
		case tensor.U16:
			le.PutUint16(p, uint16(v))
		case tensor.U8:
			p[0] = byte(v)
		case tensor.Bool:
			if v != 0 {
				p[0] = 1
			}
		}
	}
	return b
}

// bf16Bits rounds to bfloat16, to nearest even.
func bf16Bits(f float32) uint16 {
	u := math.Float32bits(f)
	if f != f {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// f16Bits rounds to IEEE half precision, to nearest even.
func f16Bits(v float64) uint16 {
	f := float32(v)
	u := math.Float32bits(f)
	sign := uint16(u>>16) & 0x8000
	switch {
	case f != f:
		return sign | 0x7e00
	case math.IsInf(float64(f), 0):
		return sign | 0x7c00
	}
	a := math.Abs(v)
	if a >= 65520 {
		return sign | 0x7c00
	}
	if a < 0x1p-14 { // subnormal: multiples of 2^-24
		return sign | uint16(math.RoundToEven(a*0x1p24))
	}
	e := math.Floor(math.Log2(a))
	m := math.RoundToEven((a/math.Pow(2, e) - 1) * 1024)
	if m == 1024 {
		m, e = 0, e+1
	}
	if e > 15 {
		return sign | 0x7c00
	}
	return sign | uint16(e+15)<<10 | uint16(m)
}

// applyOp applies one transform operation.
func applyOp(t denseTensor, op string, args []string) (denseTensor, error) {
	want := func(n int) error {
		if len(args) != n {
			return fmt.Errorf("takes %d arguments, got %d", n, len(args))
		}
		return nil
	}
	num := func(s string) (float64, error) { return parseFactor(s) }
	out := t
	out.Vals = slices.Clone(t.Vals)
	switch op {
	case "copy":
		return out, want(0)
	case "transpose":
		if err := want(0); err != nil {
			return t, err
		}
		r := len(t.Shape)
		if r < 2 {
			return t, errors.New("needs 2 axes or more")
		}
		perm := make([]int, r)
		for i := range perm {
			perm[i] = i
		}
		perm[r-1], perm[r-2] = r-2, r-1
		return permute(t, perm), nil
	case "permute":
		if err := want(1); err != nil {
			return t, err
		}
		var perm []int
		for _, f := range strings.Split(args[0], ",") {
			p, err := strconv.Atoi(f)
			if err != nil || p < 0 || p >= len(t.Shape) {
				return t, fmt.Errorf("bad axis %q", f)
			}
			perm = append(perm, p)
		}
		if len(perm) != len(t.Shape) {
			return t, fmt.Errorf("%d axes for a tensor of %d", len(perm), len(t.Shape))
		}
		return permute(t, perm), nil
	case "scale", "add", "const":
		if err := want(1); err != nil {
			return t, err
		}
		k, err := num(args[0])
		if err != nil {
			return t, err
		}
		for i, v := range out.Vals {
			switch op {
			case "scale":
				out.Vals[i] = v * k
			case "add":
				out.Vals[i] = v + k
			default:
				out.Vals[i] = k
			}
		}
		return out, nil
	case "negate":
		for i, v := range out.Vals {
			out.Vals[i] = -v
		}
		return out, want(0)
	case "shift", "zero", "perturb":
		n := map[string]int{"shift": 2, "zero": 3, "perturb": 4}[op]
		if err := want(n); err != nil {
			return t, err
		}
		axis, err := strconv.Atoi(args[0])
		if err != nil || axis < 0 || axis >= len(t.Shape) {
			return t, fmt.Errorf("bad axis %q", args[0])
		}
		ints := make([]int64, n-1)
		for i := range ints[:min(2, n-1)] {
			if ints[i], err = strconv.ParseInt(args[1+i], 10, 64); err != nil {
				return t, err
			}
		}
		delta := 0.0
		if op == "perturb" {
			if delta, err = num(args[3]); err != nil {
				return t, err
			}
		}
		dim := t.Shape[axis]
		inner := numel(t.Shape[axis+1:])
		for i := range t.Vals {
			k := int64(i) / inner % dim
			switch op {
			case "shift":
				src := int64(i) + ((k-ints[0]%dim+dim)%dim-k)*inner
				out.Vals[i] = t.Vals[src]
			case "zero":
				if k >= ints[0] && k < ints[1] {
					out.Vals[i] = 0
				}
			case "perturb":
				if k >= ints[0] && k < ints[1] {
					out.Vals[i] += delta
				}
			}
		}
		return out, nil
	case "round":
		if err := want(1); err != nil {
			return t, err
		}
		d, err := tensor.ParseDType(args[0])
		if err != nil {
			return t, err
		}
		vals, err := decodeValues(d, encodeValues(d, out.Vals))
		if err != nil {
			return t, err
		}
		out.Vals = vals
		return out, nil
	case "noise":
		if err := want(2); err != nil {
			return t, err
		}
		rel, err := num(args[0])
		if err != nil {
			return t, err
		}
		seed, err := strconv.ParseUint(args[1], 10, 64)
		if err != nil {
			return t, err
		}
		for i, z := range randn(seed, len(out.Vals)) {
			out.Vals[i] *= 1 + rel*z
		}
		return out, nil
	case "reshape":
		if err := want(1); err != nil {
			return t, err
		}
		shape, err := parseShape(args[0])
		if err != nil {
			return t, err
		}
		if numel(shape) != int64(len(t.Vals)) {
			return t, fmt.Errorf("shape %v does not hold %d elements", shape, len(t.Vals))
		}
		out.Shape = shape
		return out, nil
	case "crop":
		if err := want(2); err != nil {
			return t, err
		}
		axis, err := strconv.Atoi(args[0])
		if err != nil || axis < 0 || axis >= len(t.Shape) {
			return t, fmt.Errorf("bad axis %q", args[0])
		}
		n, err := strconv.ParseInt(args[1], 10, 64)
		if err != nil || n < 0 || n > t.Shape[axis] {
			return t, fmt.Errorf("bad length %q", args[1])
		}
		out.Shape = slices.Clone(t.Shape)
		out.Shape[axis] = n
		dim, inner := t.Shape[axis], numel(t.Shape[axis+1:])
		out.Vals = out.Vals[:0]
		for i, v := range t.Vals {
			if int64(i)/inner%dim < n {
				out.Vals = append(out.Vals, v)
			}
		}
		return out, nil
	case "set":
		if err := want(2); err != nil {
			return t, err
		}
		i, err := strconv.Atoi(args[0])
		if err != nil || i < 0 || i >= len(out.Vals) {
			return t, fmt.Errorf("bad index %q", args[0])
		}
		v, err := strconv.ParseFloat(args[1], 64)
		if err != nil {
			return t, err
		}
		out.Vals[i] = v
		return out, nil
	}
	return t, fmt.Errorf("unknown operation")
}

// parseFactor reads a number, sqrt(X), 1/sqrt(X) or A/B.
func parseFactor(s string) (float64, error) {
	if a, b, ok := strings.Cut(s, "/"); ok {
		x, err := parseFactor(a)
		if err != nil {
			return 0, err
		}
		y, err := parseFactor(b)
		if err != nil {
			return 0, err
		}
		return x / y, nil
	}
	if in, ok := strings.CutPrefix(s, "sqrt("); ok && strings.HasSuffix(in, ")") {
		x, err := strconv.ParseFloat(strings.TrimSuffix(in, ")"), 64)
		return math.Sqrt(x), err
	}
	return strconv.ParseFloat(s, 64)
}

// permute reorders the axes of t: output axis i is input axis perm[i].
func permute(t denseTensor, perm []int) denseTensor {
	r := len(t.Shape)
	shape := make([]int64, r)
	for i, p := range perm {
		shape[i] = t.Shape[p]
	}
	inStride := make([]int64, r)
	s := int64(1)
	for i := r - 1; i >= 0; i-- {
		inStride[i] = s
		s *= t.Shape[i]
	}
	out := denseTensor{Name: t.Name, DType: t.DType, Shape: shape, Vals: make([]float64, len(t.Vals))}
	idx := make([]int64, r)
	for k := range out.Vals {
		src := int64(0)
		for i := range r {
			src += idx[i] * inStride[perm[i]]
		}
		out.Vals[k] = t.Vals[src]
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < shape[i] {
				break
			}
			idx[i] = 0
		}
	}
	return out
}

// writeDense writes tensors to path by its extension: .npy (one tensor),
// .npz, .safetensors, else raw bytes (one tensor).
func writeDense(path string, ts []denseTensor, meta map[string]string) error {
	switch {
	case strings.HasSuffix(path, ".npy"):
		return writeNpy(path, ts[0], false, false)
	case strings.HasSuffix(path, ".npz"):
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, t := range ts {
			w, err := zw.CreateHeader(&zip.FileHeader{Name: t.Name + ".npy", Method: zip.Store})
			if err != nil {
				return err
			}
			if _, err := w.Write(npyBytes(t, false, false)); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
		return os.WriteFile(path, buf.Bytes(), 0o666)
	case strings.HasSuffix(path, ".safetensors"):
		return os.WriteFile(path, safetensorsBytes(ts, meta), 0o666)
	}
	return os.WriteFile(path, encodeValues(ts[0].DType, ts[0].Vals), 0o666)
}

func writeNpy(path string, t denseTensor, fortran, big bool) error {
	return os.WriteFile(path, npyBytes(t, fortran, big), 0o666)
}

// npyBytes encodes t as .npy version 1.0.
func npyBytes(t denseTensor, fortran, big bool) []byte {
	descr := map[tensor.DType]string{
		tensor.F64: "f8", tensor.F32: "f4", tensor.F16: "f2",
		tensor.I64: "i8", tensor.I32: "i4", tensor.I16: "i2", tensor.I8: "i1",
		tensor.U8: "u1", tensor.Bool: "b1",
	}[t.DType]
	if descr == "" {
		panic("npy has no dtype " + t.DType.String())
	}
	order := "<"
	if big {
		order = ">"
	}
	if t.DType.Size() == 1 {
		order = "|"
	}
	dims := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		dims[i] = strconv.FormatInt(d, 10)
	}
	shape := "(" + strings.Join(dims, ", ")
	if len(dims) == 1 {
		shape += ","
	}
	shape += ")"
	pyBool := map[bool]string{true: "True", false: "False"}[fortran]
	dict := fmt.Sprintf("{'descr': '%s%s', 'fortran_order': %s, 'shape': %s, }", order, descr, pyBool, shape)
	vals := t.Vals
	if fortran && len(t.Shape) > 1 {
		perm := make([]int, len(t.Shape))
		for i := range perm {
			perm[i] = len(t.Shape) - 1 - i
		}
		vals = permute(t, perm).Vals
	}
	data := encodeValues(t.DType, vals)
	if big {
		sz := t.DType.Size()
		for i := 0; i < len(data); i += sz {
			slices.Reverse(data[i : i+sz])
		}
	}
	return tensortest.Npy(dict, data)
}

// safetensorsBytes encodes tensors as a safetensors file, in order.
func safetensorsBytes(ts []denseTensor, meta map[string]string) []byte {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	var data bytes.Buffer
	for i, t := range ts {
		if i > 0 {
			hdr.WriteByte(',')
		}
		name, _ := json.Marshal(t.Name)
		shape, _ := json.Marshal(t.Shape)
		if t.Shape == nil || len(t.Shape) == 0 {
			shape = []byte("[]")
		}
		off := data.Len()
		data.Write(encodeValues(t.DType, t.Vals))
		fmt.Fprintf(&hdr, `%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, name, t.DType, shape, off, data.Len())
	}
	if len(meta) > 0 {
		m, _ := json.Marshal(meta)
		if len(ts) > 0 {
			hdr.WriteByte(',')
		}
		fmt.Fprintf(&hdr, `"__metadata__":%s`, m)
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	var out bytes.Buffer
	binary.Write(&out, binary.LittleEndian, uint64(hdr.Len()))
	out.Write(hdr.Bytes())
	out.Write(data.Bytes())
	return out.Bytes()
}

// TestScriptHelpers checks the script commands' encoders, which
// the scripts trust to make their inputs.
func TestScriptHelpers(t *testing.T) {
	for _, c := range []struct {
		v    float64
		bits uint16
	}{{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00}, {0x1p-24, 0x0001}, {0.1, 0x2e66}, {0, 0}} {
		if got := f16Bits(c.v); got != c.bits {
			t.Errorf("f16Bits(%v) = %#04x, want %#04x", c.v, got, c.bits)
		}
		if c.bits != 0x7c00 {
			back, err := decodeValues(tensor.F16, []byte{byte(c.bits), byte(c.bits >> 8)})
			if err != nil || math.Abs(back[0]-c.v) > math.Abs(c.v)*1e-3 {
				t.Errorf("F16 %#04x decodes to %v (%v), want about %v", c.bits, back, err, c.v)
			}
		}
	}
	if got := bf16Bits(1.00390625); got != 0x3f80 { // halfway: ties to even
		t.Errorf("bf16Bits(1+2^-8) = %#04x, want 0x3f80", got)
	}
	x := denseTensor{DType: tensor.F32, Shape: []int64{2, 3}, Vals: []float64{0, 1, 2, 3, 4, 5}}
	if got := permute(x, []int{1, 0}).Vals; !slices.Equal(got, []float64{0, 3, 1, 4, 2, 5}) {
		t.Errorf("transpose: %v", got)
	}
	r, err := applyOp(x, "shift", []string{"1", "1"})
	if err != nil || !slices.Equal(r.Vals, []float64{2, 0, 1, 5, 3, 4}) {
		t.Errorf("shift 1 1: %v %v (numpy.roll gives [[2 0 1] [5 3 4]])", r.Vals, err)
	}
	// A .npy written here reads back through tensorfile in C order,
	// whatever the byte and element order.
	dir := t.TempDir()
	for _, f := range []struct{ fortran, big bool }{{false, false}, {true, false}, {false, true}, {true, true}} {
		p := filepath.Join(dir, fmt.Sprintf("x_%v_%v.npy", f.fortran, f.big))
		if err := writeNpy(p, x, f.fortran, f.big); err != nil {
			t.Fatal(err)
		}
		got, err := readDense(p)
		if err != nil || !slices.Equal(got.Vals, x.Vals) || !slices.Equal(got.Shape, x.Shape) {
			t.Errorf("%s: %v %v %v", p, got.Shape, got.Vals, err)
		}
	}
}
