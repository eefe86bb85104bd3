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
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/safetensors"
	"github.com/refcmp/refcmp/tensorfile"
	"github.com/rogpeppe/go-internal/testscript"
)

// denseTensor is a tensor held as float64 values in C order, for the
// script commands.
type denseTensor struct {
	Name  string
	DType safetensors.DType
	Shape []int64
	Vals  []float64
}

// cmdMknpy is the script command
//
//	mknpy [-dtype D] [-fortran] [-big] [-fill arange|randn:SEED] OUT SHAPE [VALUE...]
//
// It writes a .npy (a raw little-endian C-order file when OUT does not end
// in .npy) of dtype D (default f32; any spelling safetensors.ParseDType
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
	d, err := safetensors.ParseDType(*dt)
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
		d, err := safetensors.ParseDType(*dt)
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
	s, err := openSide("IN", arg, tensorfile.Options{})
	if err != nil {
		return denseTensor{}, err
	}
	defer s.close()
	if len(s.tensors) != 1 {
		return denseTensor{}, fmt.Errorf("%s holds %d tensors; name one as PATH:NAME", arg, len(s.tensors))
	}
	t := s.tensors[0]
	n := t.Numel()
	raw := make([]byte, n*int64(t.DType.Size()))
	if _, err := t.Data.ReadAt(raw, 0); err != nil && !(errors.Is(err, io.EOF) && len(raw) == 0) {
		return denseTensor{}, fmt.Errorf("%s: %v", arg, err)
	}
	vals, err := decodeValues(t.DType, raw)
	if err != nil {
		return denseTensor{}, fmt.Errorf("%s: %v", arg, err)
	}
	return denseTensor{Name: t.Name, DType: t.DType, Shape: slices.Clone(t.Shape), Vals: vals}, nil
}

func decodeValues(d safetensors.DType, b []byte) ([]float64, error) {
	sz := d.Size()
	out := make([]float64, len(b)/sz)
	le := binary.LittleEndian
	for i := range out {
		p := b[i*sz:]
		switch d {
		case safetensors.F64:
			out[i] = math.Float64frombits(le.Uint64(p))
		case safetensors.F32:
			out[i] = float64(math.Float32frombits(le.Uint32(p)))
		case safetensors.BF16:
			out[i] = float64(math.Float32frombits(uint32(le.Uint16(p)) << 16))
		case safetensors.F16:
			out[i] = f16ToFloat(le.Uint16(p))
		case safetensors.I64:
			out[i] = float64(int64(le.Uint64(p)))
		case safetensors.I32:
			out[i] = float64(int32(le.Uint32(p)))
		case safetensors.I16:
			out[i] = float64(int16(le.Uint16(p)))
		case safetensors.I8:
			out[i] = float64(int8(p[0]))
		case safetensors.U8, safetensors.Bool:
			out[i] = float64(p[0])
		default:
			return nil, fmt.Errorf("dtype %s not supported by the script commands", d)
		}
	}
	return out, nil
}

func encodeValues(d safetensors.DType, vals []float64) []byte {
	sz := d.Size()
	b := make([]byte, len(vals)*sz)
	le := binary.LittleEndian
	for i, v := range vals {
		p := b[i*sz:]
		switch d {
		case safetensors.F64:
			le.PutUint64(p, math.Float64bits(v))
		case safetensors.F32:
			le.PutUint32(p, math.Float32bits(float32(v)))
		case safetensors.BF16:
			le.PutUint16(p, bf16Bits(float32(v)))
		case safetensors.F16:
			le.PutUint16(p, f16Bits(v))
		case safetensors.I64:
			le.PutUint64(p, uint64(int64(v)))
		case safetensors.I32:
			le.PutUint32(p, uint32(int32(v)))
		case safetensors.I16:
			le.PutUint16(p, uint16(int16(v)))
		case safetensors.I8:
			p[0] = byte(int8(v))
		case safetensors.U8:
			p[0] = byte(v)
		case safetensors.Bool:
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

func f16ToFloat(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	e := int(h>>10) & 0x1f
	m := float64(h & 0x3ff)
	switch e {
	case 0:
		return sign * m * 0x1p-24
	case 31:
		if m == 0 {
			return sign * math.Inf(1)
		}
		return math.NaN()
	}
	return sign * (1 + m/1024) * math.Pow(2, float64(e-15))
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
		d, err := safetensors.ParseDType(args[0])
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
	descr := map[safetensors.DType]string{
		safetensors.F64: "f8", safetensors.F32: "f4", safetensors.F16: "f2",
		safetensors.I64: "i8", safetensors.I32: "i4", safetensors.I16: "i2", safetensors.I8: "i1",
		safetensors.U8: "u1", safetensors.Bool: "b1",
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
	header := fmt.Sprintf("{'descr': '%s%s', 'fortran_order': %s, 'shape': %s, }", order, descr, pyBool, shape)
	for (10+len(header)+1)%64 != 0 {
		header += " "
	}
	header += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
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
	b.Write(data)
	return b.Bytes()
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

// TestTensorsScriptHelpers checks the script commands' encoders, which
// the scripts trust to make their inputs.
func TestTensorsScriptHelpers(t *testing.T) {
	for _, c := range []struct {
		v    float64
		bits uint16
	}{{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00}, {0x1p-24, 0x0001}, {0.1, 0x2e66}, {0, 0}} {
		if got := f16Bits(c.v); got != c.bits {
			t.Errorf("f16Bits(%v) = %#04x, want %#04x", c.v, got, c.bits)
		}
		if c.bits != 0x7c00 {
			if back := f16ToFloat(c.bits); math.Abs(back-c.v) > math.Abs(c.v)*1e-3 {
				t.Errorf("f16ToFloat(%#04x) = %v, want about %v", c.bits, back, c.v)
			}
		}
	}
	if got := bf16Bits(1.00390625); got != 0x3f80 { // halfway: ties to even
		t.Errorf("bf16Bits(1+2^-8) = %#04x, want 0x3f80", got)
	}
	x := denseTensor{DType: safetensors.F32, Shape: []int64{2, 3}, Vals: []float64{0, 1, 2, 3, 4, 5}}
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
