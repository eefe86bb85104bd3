// Command port_side shows how a port written in Go writes its side for
// refcmp: the loaded-weights manifest, a raw .bin with its sidecar JSON,
// and a .npy file. Standard library only. Usage: port_side OUTDIR
package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// shapeList formats a shape as a JSON list: [2, 3].
func shapeList(shape []int) string {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// writeManifest writes one line per weight the port loaded:
// `name [d0, d1] dtype`, the format `refcmp weights` reads.
func writeManifest(path string, names []string, shapes [][]int, dtype string) error {
	var b strings.Builder
	for i, n := range names {
		fmt.Fprintf(&b, "%s %s %s\n", n, shapeList(shapes[i]), dtype)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// writeRaw writes data as little-endian float32 in C order to path, and
// its dtype and shape to the sidecar path+".json".
func writeRaw(path string, shape []int, data []float32) error {
	buf := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		return err
	}
	side := fmt.Sprintf("{\"dtype\": \"F32\", \"shape\": %s}\n", shapeList(shape))
	return os.WriteFile(path+".json", []byte(side), 0o644)
}

// writeNpy writes a version 1.0 .npy file: little-endian float32, C order.
func writeNpy(path string, shape []int, data []float32) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	tuple := "(" + strings.Join(dims, ", ") + ")"
	if len(shape) == 1 {
		tuple = "(" + dims[0] + ",)"
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", tuple)
	// Pad so that magic (6) + version (2) + length (2) + header + "\n" is a multiple of 64.
	header += strings.Repeat(" ", (64-(10+len(header)+1)%64)%64) + "\n"
	out := append([]byte("\x93NUMPY\x01\x00"), byte(len(header)), byte(len(header)>>8))
	out = append(out, header...)
	for _, v := range data {
		out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
	}
	return os.WriteFile(path, out, 0o644)
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: port_side OUTDIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	shape := []int{2, 3}
	data := make([]float32, 6)
	for i := range data {
		data[i] = float32(i) / 4
	}
	err := writeManifest(filepath.Join(dir, "loaded.txt"),
		[]string{"model.embed_tokens.weight", "model.lm_head.weight"}, [][]int{{64, 32}, {64, 32}}, "float32")
	if err == nil {
		err = writeRaw(filepath.Join(dir, "x.bin"), shape, data)
	}
	if err == nil {
		err = writeNpy(filepath.Join(dir, "x.npy"), shape, data)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
