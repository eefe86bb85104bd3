package tensorfile

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/internal/fileio"
)

// maxDumpTail bounds how much of a dump's .txt is read from its end.
const maxDumpTail = 4096

// dumpLayout is the layout of a raw float32 dump written by llama.cpp's
// examples/model-conversion tools: run-org-model.py (save_output_data)
// and llama-logits write NAME.bin, the flat little-endian float32 values
// (the last token's logits, n_vocab of them, or the embeddings), and
// NAME.txt beside it with one "INDEX: VALUE" line per value (%.6f).
type dumpLayout struct {
	n    int64  // float32 values
	txt  string // the .txt that described them
	note string
}

// findDump recognises a model-conversion dump: x.bin with an x.txt
// whose first line is "0: VALUE". It returns nil when there is no such
// .txt, and an error naming the flags when the .txt and the .bin
// disagree (count or first value).
func findDump(path string, size int64) (*dumpLayout, error) {
	if !strings.EqualFold(filepath.Ext(path), ".bin") {
		return nil, nil
	}
	txt := strings.TrimSuffix(path, filepath.Ext(path)) + ".txt"
	fi, err := os.Stat(txt)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, nil
	}
	f, err := fileio.Open(txt)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	first, err := bufio.NewReaderSize(io.LimitReader(f, maxDumpTail), maxDumpTail).ReadString('\n')
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", txt, err)
	}
	i0, v0, ok := dumpLine(first)
	if !ok || i0 != 0 {
		return nil, nil // some other .txt
	}
	tail := make([]byte, min(fi.Size(), maxDumpTail))
	if _, err := f.ReadAt(tail, fi.Size()-int64(len(tail))); err != nil && err != io.EOF {
		return nil, fmt.Errorf("%s: %w", txt, err)
	}
	lines := strings.Split(strings.TrimRight(string(tail), "\n"), "\n")
	last, _, ok := dumpLine(lines[len(lines)-1])
	if !ok {
		return nil, fmt.Errorf("%s: last line %q is not \"INDEX: VALUE\" (a llama.cpp model-conversion dump's listing); give --dtype and --shape for %s", txt, lines[len(lines)-1], path)
	}
	n := last + 1
	if n*4 != size {
		return nil, fmt.Errorf("%s: %s lists %d values, the file has %d bytes (%d float32): not the dump it describes; give --dtype and --shape", path, txt, n, size, size/4)
	}
	var b [4]byte
	bf, err := fileio.Open(path)
	if err != nil {
		return nil, err
	}
	defer bf.Close()
	if _, err := bf.ReadAt(b[:], 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	got := float64(math.Float32frombits(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24))
	if !(math.Abs(got-v0) <= 0.5e-6+1e-7*math.Abs(got)) && !(math.IsNaN(got) && math.IsNaN(v0)) {
		return nil, fmt.Errorf("%s: value 0 is %g, %s lists %g: not the dump it describes; give --dtype and --shape", path, got, txt, v0)
	}
	what := "the last token's logits"
	if strings.Contains(strings.ToLower(filepath.Base(path)), "embedding") {
		what = "embeddings, flattened"
	}
	return &dumpLayout{n: n, txt: txt, note: fmt.Sprintf(
		"%s: llama.cpp model-conversion dump (listed in %s): float32 [%d], %s", filepath.Base(path), filepath.Base(txt), n, what)}, nil
}

// dumpLine parses "INDEX: VALUE"; a VALUE that is not a number (C's
// "-nan") reads as NaN.
func dumpLine(s string) (int64, float64, bool) {
	i, v, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return 0, 0, false
	}
	idx, err := strconv.ParseInt(strings.TrimSpace(i), 10, 64)
	if err != nil || idx < 0 {
		return 0, 0, false
	}
	val, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		val = math.NaN() // printf's "-nan"
	}
	return idx, val, true
}
