package tensorfile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

// GGUFShapeNote says how GGUF shapes are shown, in every GGUF listing.
const GGUFShapeNote = "GGUF shapes in PyTorch order (GGUF lists dimensions innermost first)"

func isGGUF(head []byte) bool { return bytes.HasPrefix(head, []byte(gguf.Magic)) }

// GGUFDType maps a ggml type to its DType: the plain types to F32, F16,
// BF16, F64, I8..I64, the block types to the GGML block DTypes; false for
// a type number refcmp does not know.
func GGUFDType(t gguf.Type) (tensor.DType, bool) {
	switch t {
	case gguf.F32:
		return tensor.F32, true
	case gguf.F16:
		return tensor.F16, true
	case gguf.BF16:
		return tensor.BF16, true
	case gguf.F64:
		return tensor.F64, true
	case gguf.I8:
		return tensor.I8, true
	case gguf.I16:
		return tensor.I16, true
	case gguf.I32:
		return tensor.I32, true
	case gguf.I64:
		return tensor.I64, true
	}
	if !t.Known() {
		return tensor.Unknown, false
	}
	d, err := tensor.ParseDType(t.String())
	return d, err == nil && d.IsBlock()
}

// listGGUF lists a GGUF file's tensors from its header: PyTorch-order
// shapes, the GGML type as DType (Unknown, with a note, for a type number
// refcmp does not know).
func listGGUF(path string) (tensor.Listing, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return tensor.Listing{}, err
	}
	l := tensor.Listing{Source: path, Weights: []tensor.Info{}, Notes: ggufNotes(f)}
	for _, t := range f.Tensors {
		d, _ := GGUFDType(t.Type)
		l.Weights = append(l.Weights, tensor.Info{Name: t.Name, DType: d, Shape: t.Shape()})
	}
	return l, nil
}

func ggufNotes(f *gguf.File) []string {
	notes := []string{GGUFShapeNote}
	notes = append(notes, f.Notes...)
	if f.DataMissing {
		notes = append(notes, "the file ends inside the tensor data: read header-only")
	}
	return notes
}

// openGGUF opens a GGUF file's tensors with their data. Plain types are
// sections of the file (byte-swapped from a big-endian file); the block
// types refcmp decodes (Q4_0..Q8_0, Q2_K..Q6_K) are decoded views: DType
// F32, Stored the block type, values decoded block by block on each read
// (no decoded copy of the tensor). Tensors of other types, and tensors
// whose data the file does not hold, are left out with a note.
func openGGUF(path string, cfg config) (*Container, error) {
	return openWith(path, func(fh *os.File, size int64) (*Container, error) {
		f, err := gguf.Read(fh, size, path, gguf.DefaultBudget())
		if err != nil {
			return nil, err
		}
		c := &Container{Source: path, Format: FormatGGUF, Ordered: true, GGUF: f, Notes: ggufNotes(f)}
		var undecoded, absent []string
		for _, ti := range f.Tensors {
			d, _ := GGUFDType(ti.Type)
			t := tensor.Tensor{Name: ti.Name, DType: d, Shape: ti.Shape()}
			if !gguf.CanDecode(ti.Type) || (d.IsBlock() && f.BigEndian) {
				undecoded = append(undecoded, fmt.Sprintf("%s (%s)", ti.Name, ti.Type))
				continue
			}
			off, n, err := f.DataRange(ti)
			if err != nil {
				absent = append(absent, ti.Name)
				continue
			}
			if d.IsBlock() {
				t.DType, t.Stored = tensor.F32, d
			}
			if !cfg.headerOnly {
				t.Data = ggufData(fh, f, ti, d, off, n)
			}
			c.Tensors = append(c.Tensors, t)
		}
		if len(undecoded) > 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("%d tensors left out: refcmp does not decode their type: %s", len(undecoded), someOf(undecoded)))
		}
		if len(absent) > 0 {
			c.Notes = append(c.Notes, fmt.Sprintf("%d tensors left out: their data is past the end of the file: %s", len(absent), someOf(absent)))
		}
		return c, nil
	})
}

// ggufData is the reader of one tensor's data as Tensor.Data wants it.
func ggufData(r io.ReaderAt, f *gguf.File, ti gguf.TensorInfo, d tensor.DType, off, n int64) io.ReaderAt {
	if d.IsBlock() {
		return newDecodedView(r, ti.Type, off, ti.Elements)
	}
	var sr io.ReaderAt = io.NewSectionReader(r, off, n)
	if f.BigEndian {
		sr = newSwapReaderAt(sr, d.Size(), n)
	}
	return sr
}

// someOf writes up to 5 items and how many more.
func someOf(items []string) string {
	if len(items) > 5 {
		return strings.Join(items[:5], ", ") + fmt.Sprintf(", … %d more", len(items)-5)
	}
	return strings.Join(items, ", ")
}

// listLlamaLog reads a llama.cpp log (the model loader's tensor lines or
// the converter's INFO:hf-to-gguf lines) as a listing, when path holds
// such lines; ok is false when it holds none, so the caller reads it as a
// manifest. When both are present, the loader's lines win (they are what
// llama.cpp loaded).
func listLlamaLog(path string) (l tensor.Listing, ok bool, err error) {
	if !looksLikeLlamaLog(path) {
		return l, false, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return l, true, err
	}
	defer fh.Close()
	lg, err := gguf.ParseLog(fh, path, gguf.DefaultLogBudget())
	if err != nil {
		return l, true, err
	}
	entries, what := lg.Loader, "llama.cpp model loader log"
	if len(entries) == 0 {
		entries, what = lg.Converter, "llama.cpp converter log (convert_hf_to_gguf.py)"
	}
	if len(entries) == 0 {
		return l, true, fmt.Errorf("%s: a llama.cpp log with eval-callback dumps but no tensor lines: compare it with 'refcmp tensors'", path)
	}
	l = tensor.Listing{Source: path, Weights: []tensor.Info{}, Notes: []string{what + "; " + GGUFShapeNote}}
	var unknown []string
	for _, e := range entries {
		var d tensor.DType
		if e.Known {
			d, _ = GGUFDType(e.Type)
		} else {
			unknown = append(unknown, fmt.Sprintf("%s (%s)", e.Name, e.TypeName))
		}
		l.Weights = append(l.Weights, tensor.Info{Name: e.Name, DType: d, Shape: e.Shape})
	}
	if len(unknown) > 0 {
		l.Notes = append(l.Notes, fmt.Sprintf("%d tensors of a type refcmp does not know, dtype not compared: %s", len(unknown), someOf(unknown)))
	}
	return l, true, nil
}

// looksLikeLlamaLog reports whether the first MiB of path holds a loader
// or converter tensor line, or an eval-callback dump's header.
func looksLikeLlamaLog(path string) bool {
	fh, err := os.Open(path)
	if err != nil {
		return false
	}
	defer fh.Close()
	sc := bufio.NewScanner(io.LimitReader(fh, 1<<20))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		s := sc.Text()
		if strings.Contains(s, "llama_model_loader: - tensor") || (strings.Contains(s, "INFO:hf-to-gguf:") && strings.Contains(s, " --> ")) ||
			(strings.Contains(s, "ggml_debug:") || strings.Contains(s, "common_debug_cb_eval:")) && strings.Contains(s, " = (") {
			return true
		}
	}
	return false
}
