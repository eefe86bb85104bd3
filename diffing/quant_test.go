package diffing

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// q8_0 quantizes x as ggml's reference quantize_row_q8_0 does (d =
// amax/127, q = round(x/d)) and returns the decoded values.
func q8_0(x []float64) []float64 {
	out := make([]float64, len(x))
	for b := 0; b < len(x); b += 32 {
		amax := 0.0
		for _, v := range x[b : b+32] {
			amax = max(amax, math.Abs(v))
		}
		d := float64(float32(amax / 127))
		for i, v := range x[b : b+32] {
			if d != 0 {
				out[b+i] = float64(float32(math.Round(v/d)) * float32(d))
			}
		}
	}
	return out
}

// TestQuantVerdict: a Q8_0 tensor against its float source passes as
// expected quantization error, though allclose would fail it; one with
// 40 times that error is named as worse than Q8_0 explains.
func TestQuantVerdict(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]float64, 64*256)
	for i := range src {
		src[i] = float64(float32(r.NormFloat64() * 0.02))
	}
	sh := []int64{64, 256}
	ref := mkTensor(t, "w", tensor.BF16, sh, src)
	src = decodeAs(t, tensor.BF16, src)
	deq := q8_0(src)
	bad := make([]float64, len(deq))
	for i := range deq {
		bad[i] = src[i] + 6.5*(deq[i]-src[i]) // 6.5² ≈ 42× the NMSE, over 20× the typical
	}
	for _, c := range []struct {
		vals []float64
		pass bool
	}{{deq, true}, {bad, false}} {
		ours := mkTensor(t, "w", tensor.F32, sh, c.vals)
		ours.Stored = tensor.Q8_0
		in := func(ts tensor.Tensor, l string) Input {
			return Input{Label: l, Arg: l, Path: l, Tensors: []tensor.Tensor{ts}, Single: true}
		}
		rep, err := CompareAll(in(ref, "REF"), in(ours, "OURS"), CompareAllOptions{})
		if err != nil {
			t.Fatal(err)
		}
		res := rep.Tensors[0]
		if res.Quant == nil || res.Pass != c.pass || res.Quant.Expected != c.pass || res.OursDType != tensor.Q8_0 {
			t.Fatalf("pass %v, quant %+v, ours dtype %s", res.Pass, res.Quant, res.OursDType)
		}
		if plain := mustCompare(t, ref, ours, DefaultTolerance(tensor.BF16, tensor.F32)); c.pass && plain.Pass {
			t.Errorf("allclose passes the quantized tensor too: the test proves nothing")
		}
		if c.pass && !strings.Contains(strings.Join(res.Notes, ";"), "expected to cost") {
			t.Errorf("notes %q", res.Notes)
		}
		if !c.pass {
			if len(res.Hints) == 0 || res.Hints[0].Kind != TensorHintQuant || !strings.Contains(res.Hints[0].Summary, "worse than Q8_0 quantization explains") || res.Quant.Ratio < 20 {
				t.Errorf("hints %+v, ratio %v", res.Hints, res.Quant.Ratio)
			}
		}
	}
}

func decodeAs(t *testing.T, dt tensor.DType, v []float64) []float64 {
	t.Helper()
	b := encode(t, dt, v)
	out := make([]float64, len(v))
	decoderFor(dt)(out, b)
	return out
}

// TestNormOffsetHint: a norm read through add=1 that differs by exactly
// +1 had the offset applied twice; by exactly -1, it was missing.
func TestNormOffsetHint(t *testing.T) {
	w := []float64{0.5, -0.25, 1.5, 0.125}
	for _, c := range []struct {
		d    float64
		want string
	}{{1, "differs by exactly +1.0: Gemma norm offset applied twice"}, {-1, "differs by exactly -1.0: Gemma norm offset missing"}, {0.5, ""}} {
		o := make([]float64, len(w))
		for i := range w {
			o[i] = w[i] + c.d
		}
		res := mustCompare(t, mkTensor(t, "n", tensor.F32, []int64{4}, w), mkTensor(t, "n", tensor.F32, []int64{4}, o), DefaultTolerance(tensor.F32, tensor.F32))
		h := normOffsetHint(&res, Conversion{Add: 1}, true)
		if (c.want == "") != (len(h) == 0) || len(h) > 0 && !strings.HasPrefix(h[0].Summary, c.want) {
			t.Errorf("d %v: hints %+v", c.d, h)
		}
	}
}

func TestLogitsBand(t *testing.T) {
	for _, c := range []struct {
		nmse float64
		want string
	}{{0, "essentially identical"}, {5e-7, "essentially identical"}, {1e-6, "excellent"}, {5e-4, "very good"}, {5e-3, "good"}, {0.05, "acceptable"}, {0.5, "poor"}, {3, "very poor"}} {
		if got := LogitsBand(c.nmse); got != c.want {
			t.Errorf("LogitsBand(%g) = %q, want %q", c.nmse, got, c.want)
		}
	}
	for name, want := range map[string]bool{"logits": true, "logits.npy": true, "out/logits-llamacpp.bin": true, "model.logits": true, "lm_head.weight": false, "x": false} {
		if isLogits(name) != want {
			t.Errorf("isLogits(%q) != %v", name, want)
		}
	}
	r := Result{Name: "logits", NMSE: 3e-5}
	logitsNote(&r, false)
	if len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "excellent by llama.cpp's bands") {
		t.Errorf("notes %q", r.Notes)
	}
	// --logits: a pair not named like logits gets the note only when forced.
	for _, force := range []bool{false, true} {
		r := Result{Name: "pytorch-model.bin", NMSE: 5e-3}
		logitsNote(&r, force)
		if got := len(r.Notes) == 1 && strings.Contains(r.Notes[0], "NMSE 0.005: good"); got != force {
			t.Errorf("force %v: notes %q", force, r.Notes)
		}
	}
}
