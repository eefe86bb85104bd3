package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/patterns"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

// writeRaw writes a pattern's tensors as raw float32 files.
func writeRaw(t *testing.T, dir string, p patterns.Pair) (ref, ours string) {
	t.Helper()
	ref, ours = filepath.Join(dir, "ref.bin"), filepath.Join(dir, "ours.bin")
	for path, tt := range map[string]tensor.Tensor{ref: p.Ref, ours: p.Ours} {
		if err := os.WriteFile(path, tt.Data.(tensor.MemData).Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return ref, ours
}

func runPlotCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestTensorsPlot(t *testing.T) {
	dir := t.TempDir()
	ref, ours := writeRaw(t, dir, patterns.CausalOffByOne(1, 2, 12))
	plots := filepath.Join(dir, "plots")
	args := []string{"tensors", "--dtype", "f32", "--shape", "1,2,12,12", ref, ours}
	code, out, errs := runPlotCLI(t, append(args, "--plot", plots)...)
	if code != exitDiff {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitDiff, errs)
	}
	// The terminal heatmap in the detail block: the diagonal k = q+1.
	i := strings.Index(out, "|diff| max-pooled, rows: axis 2 (0..11), cols: axis 3 (0..11); max over axis 1:")
	if i < 0 {
		t.Fatalf("no heatmap in:\n%s", out)
	}
	lines := strings.Split(out[i:], "\n")[1:13]
	for q, l := range lines {
		cells := []rune(l[strings.Index(l, "│")+len("│"):])
		for k := range 12 {
			hot := k < len(cells) && strings.ContainsRune("░▒▓█", cells[k])
			if hot != (k == q+1) {
				t.Errorf("row %d col %d: hot %v in %q", q, k, hot, l)
			}
		}
	}
	name := "000-ref.bin"
	for _, f := range []string{"index.html", name + "-heatmap.png", name + "-histogram.png", name + "-scatter.png"} {
		b, err := os.ReadFile(filepath.Join(plots, f))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".png") {
			if _, err := png.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
	// The JSON is the same with and without --plot.
	_, j1, _ := runPlotCLI(t, append(args, "--format", "json")...)
	_, j2, _ := runPlotCLI(t, append(args, "--format", "json", "--plot", filepath.Join(dir, "p2"))...)
	if j1 != j2 || j1 == "" {
		t.Error("--plot changed the JSON")
	}
	// Without --plot, piped text has no heatmap.
	if _, plain, _ := runPlotCLI(t, args...); strings.Contains(plain, "max-pooled") {
		t.Error("heatmap in piped text without --plot")
	}
	// A --plot directory that cannot be made: exit 2, the flag named.
	blocker := filepath.Join(dir, "file")
	os.WriteFile(blocker, nil, 0o644)
	code, _, errs = runPlotCLI(t, append(args, "--plot", filepath.Join(blocker, "sub"))...)
	if code != exitError || !strings.Contains(errs, "--plot") {
		t.Errorf("bad --plot dir: exit %d, stderr %q", code, errs)
	}
}

func TestGoldenCheckPlot(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	gold := filepath.Join(dir, "g.json")
	porting := filepath.Join(root, "testdata", "porting")
	if code, _, errs := runPlotCLI(t, "golden", "record", filepath.Join(porting, "ref_activations.safetensors"), "-o", gold); code != exitOK {
		t.Fatalf("record: exit %d: %s", code, errs)
	}
	plots := filepath.Join(dir, "plots")
	code, _, errs := runPlotCLI(t, "golden", "check", filepath.Join(porting, "port_activations.safetensors"), gold, "--plot", plots)
	if code != exitDiff {
		t.Fatalf("check: exit %d, want %d: %s", code, exitDiff, errs)
	}
	page, err := os.ReadFile(filepath.Join(plots, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "layers.0.self_attn.scores") || strings.Count(string(page), "data:image/png;base64,") != 1 {
		t.Errorf("index.html lacks the changed tensor or the sequence picture")
	}
	if _, err := os.Stat(filepath.Join(plots, "sequence.png")); err != nil {
		t.Error(err)
	}
}

// TestPicturesDoc re-runs the command of docs/pictures.md and checks it
// draws the committed picture, pixel for pixel.
func TestPicturesDoc(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "pictures.md"))
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "go run ./cmd/refcmp "
	var cmdline string
	for _, l := range strings.Split(string(doc), "\n") {
		if strings.HasPrefix(l, prefix) {
			cmdline = strings.TrimPrefix(l, prefix)
		}
	}
	args := strings.Fields(cmdline)
	if len(args) < 2 || args[len(args)-2] != "--plot" {
		t.Fatalf("docs/pictures.md: no command ending in --plot DIR: %q", cmdline)
	}
	dir := t.TempDir()
	args[len(args)-1] = filepath.Join(dir, args[len(args)-1])
	for i, a := range args {
		if strings.HasPrefix(a, "testdata/") {
			args[i] = filepath.Join(root, a)
		}
	}
	if code, _, errs := runPlotCLI(t, args...); code != exitDiff {
		t.Fatalf("exit %d: %s", code, errs)
	}
	got, err := os.ReadFile(filepath.Join(args[len(args)-1], "006-layers.0.self_attn.probs-heatmap.png"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(root, "docs", "pictures", "probs-heatmap.png"))
	if err != nil {
		t.Fatal(err)
	}
	gi, err1 := png.Decode(bytes.NewReader(got))
	wi, err2 := png.Decode(bytes.NewReader(want))
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if gi.Bounds() != wi.Bounds() {
		t.Fatalf("size %v, committed %v", gi.Bounds(), wi.Bounds())
	}
	diff := 0
	b := gi.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if gi.At(x, y) != wi.At(x, y) {
				diff++
			}
		}
	}
	if diff > 0 {
		t.Errorf("%d pixels differ from docs/pictures/probs-heatmap.png (regenerate it with the command in docs/pictures.md)", diff)
	}
}
