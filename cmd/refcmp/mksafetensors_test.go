package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/safetensors"
	"github.com/rogpeppe/go-internal/testscript"
)

var update = flag.Bool("update", false, "rewrite golden files and cmp'd script files from the current output")

// tensorSpec is one tensor for writeSafetensors.
type tensorSpec struct {
	Name  string
	DType safetensors.DType
	Shape []int64
}

// cmdMksafetensors is the script command
//
//	mksafetensors [-fill zero|index] [-meta KEY=VALUE]... OUT SPEC...
//	mksafetensors -raw HEADERFILE [-hdrlen N] [-data N] OUT
//
// The first form writes a valid safetensors file. A SPEC is one tensor,
// 'NAME DTYPE SHAPE' (e.g. 'model.embed.weight F32 [8, 4]', '[]' for a
// scalar, DTYPE in any spelling safetensors.ParseDType accepts), or @FILE,
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
	dt, err := safetensors.ParseDType(f[1])
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
func writeSafetensors(w io.Writer, specs []tensorSpec, meta map[string]string, fill string) error {
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	var off int64
	for i, s := range specs {
		if i > 0 {
			hdr.WriteByte(',')
		}
		name, _ := json.Marshal(s.Name)
		shape, _ := json.Marshal(s.Shape)
		n := numel(s.Shape) * int64(s.DType.Size())
		fmt.Fprintf(&hdr, `%s:{"dtype":"%s","shape":%s,"data_offsets":[%d,%d]}`, name, s.DType, shape, off, off+n)
		off += n
	}
	if len(meta) > 0 {
		m, err := json.Marshal(meta) // sorted keys
		if err != nil {
			return err
		}
		if len(specs) > 0 {
			hdr.WriteByte(',')
		}
		fmt.Fprintf(&hdr, `"__metadata__":%s`, m)
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	bw := bufio.NewWriter(w)
	binary.Write(bw, binary.LittleEndian, uint64(hdr.Len()))
	bw.Write(hdr.Bytes())
	for _, s := range specs {
		if err := writeTensorData(bw, s, fill); err != nil {
			return err
		}
	}
	return bw.Flush()
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

// writeTensorData writes one tensor's elements, little-endian.
func writeTensorData(w io.Writer, s tensorSpec, fill string) error {
	n := numel(s.Shape)
	size := s.DType.Size()
	switch fill {
	case "zero":
		_, err := w.Write(make([]byte, n*int64(size)))
		return err
	case "index":
	default:
		return fmt.Errorf("-fill %q: want zero or index", fill)
	}
	b := make([]byte, size)
	for i := range n {
		clear(b)
		switch s.DType {
		case safetensors.Bool:
			b[0] = byte(i % 2)
		case safetensors.U8, safetensors.I8:
			b[0] = byte(i)
		case safetensors.U16, safetensors.I16:
			binary.LittleEndian.PutUint16(b, uint16(i))
		case safetensors.U32, safetensors.I32:
			binary.LittleEndian.PutUint32(b, uint32(i))
		case safetensors.U64, safetensors.I64:
			binary.LittleEndian.PutUint64(b, uint64(i))
		case safetensors.F16:
			binary.LittleEndian.PutUint16(b, float16Bits(float32(i)))
		case safetensors.BF16:
			binary.LittleEndian.PutUint16(b, uint16(math.Float32bits(float32(i))>>16))
		case safetensors.F32:
			binary.LittleEndian.PutUint32(b, math.Float32bits(float32(i)))
		case safetensors.F64:
			binary.LittleEndian.PutUint64(b, math.Float64bits(float64(i)))
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// float16Bits converts a non-negative whole number below 65520 to IEEE
// half precision, truncating the mantissa; larger values become +Inf.
func float16Bits(f float32) uint16 {
	if f == 0 {
		return 0
	}
	if f >= 65520 {
		return 0x7c00
	}
	bits := math.Float32bits(f)
	exp := int(bits>>23&0xff) - 127 + 15
	return uint16(exp)<<10 | uint16(bits>>13&0x3ff)
}
