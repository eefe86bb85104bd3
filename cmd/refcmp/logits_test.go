package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeDump writes NAME.bin and NAME.txt as llama.cpp's model-conversion
// tools do (save_output_data, llama-logits): flat float32 and "i: %.6f".
func writeDump(t *testing.T, dir, name string, vals []float32) string {
	t.Helper()
	bin := make([]byte, 4*len(vals))
	var txt strings.Builder
	for i, v := range vals {
		binary.LittleEndian.PutUint32(bin[4*i:], math.Float32bits(v))
		fmt.Fprintf(&txt, "%d: %.6f\n", i, v)
	}
	p := filepath.Join(dir, name+".bin")
	if err := os.WriteFile(p, bin, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".txt"), []byte(txt.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTensorsLogitsDumps(t *testing.T) {
	dir := t.TempDir()
	const n = 5000
	ref, near, far := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range ref {
		ref[i] = float32(math.Sin(float64(i)*0.37)) * 4
		near[i] = ref[i] + 0.01*float32(math.Cos(float64(i)*1.3)) // NMSE ~6e-6
		far[i] = ref[i] + 2*float32(math.Cos(float64(i)*1.3))     // NMSE ~0.25
	}
	pt := writeDump(t, dir, "pytorch-tiny", ref)
	lc := writeDump(t, dir, "llamacpp-tiny", near)
	bad := writeDump(t, dir, "llamacpp-bad", far)

	out := refcmpRun(t, 0, "tensors", pt, lc, "--logits")
	wantIn(t, out, "PASS", "llama.cpp model-conversion dump (listed in pytorch-tiny.txt): float32 [5000], the last token's logits",
		"excellent by llama.cpp's bands")
	// Without --logits the pair is an F32 allclose check: it fails.
	refcmpRun(t, 1, "tensors", pt, lc)
	out = refcmpRun(t, 1, "tensors", pt, bad, "--logits")
	wantIn(t, out, "poor by llama.cpp's bands")
	// --check wins over --logits' nmse; the band note stays.
	out = refcmpRun(t, 0, "tensors", pt, bad, "--logits", "--check", "cosine", "--threshold", "0.5", "--format", "json")
	wantIn(t, out, `"check": "cosine"`, "logits NMSE")

	// A .txt that does not describe the .bin: exit 2 naming the flags.
	if err := os.WriteFile(filepath.Join(dir, "llamacpp-tiny.txt"), []byte("0: 0.000000\n1: 0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = refcmpRun(t, 2, "tensors", pt, lc, "--logits")
	wantIn(t, out, "llamacpp-tiny.txt lists 2 values", "give --dtype and --shape")
	// --dtype/--shape win over the .txt.
	refcmpRun(t, 0, "tensors", pt, lc, "--logits", "--dtype", "f32", "--shape", "1,5000", "--ref-shape", "1,5000")
}
