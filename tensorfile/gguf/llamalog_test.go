package gguf

import (
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
)

func parseLogFile(t *testing.T, name string) *Log {
	t.Helper()
	fh, err := os.Open("testdata/logs/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	lg, err := ParseLog(fh, name, DefaultLogBudget())
	if err != nil {
		t.Fatal(err)
	}
	return lg
}

// The excerpts are llama.cpp output in its real formats: loader lines as
// llama-model-loader.cpp prints them ("- tensor %4d: %32s %-8s [ %s ]",
// from a Llama 3 load and a GGUF V1-era build 1062 log), the converter's
// logger.info lines (convert_hf_to_gguf.py), and eval-callback dumps laid
// out by common/debug.cpp's printf calls and the older ggml_debug.
func TestParseLoaderLog(t *testing.T) {
	lg := parseLogFile(t, "loader_v3.txt")
	want := []LogTensor{
		{0, "token_embd.weight", "q4_0", Q4_0, true, []int64{128256, 4096}, "", 4},
		{1, "blk.0.attn_norm.weight", "f32", F32, true, []int64{4096}, "", 5},
		{2, "blk.0.ffn_down.weight", "q4_0", Q4_0, true, []int64{4096, 14336}, "", 6},
		{3, "blk.0.attn_k.weight", "q4_K", Q4_K, true, []int64{1024, 4096}, "", 7},
		{4, "blk.0.ffn_gate_exps.weight", "iq2_xxs", IQ2_XXS, true, []int64{8, 14336, 4096}, "", 8},
	}
	if !reflect.DeepEqual(lg.Loader, want) || len(lg.Converter)+len(lg.Eval) != 0 {
		t.Errorf("got %+v", lg.Loader)
	}
	old := parseLogFile(t, "loader_v1_2023.txt")
	if len(old.Loader) != 4 || old.Loader[2].Name != "output_norm.weight" || !reflect.DeepEqual(old.Loader[3].Shape, []int64{32000, 4096}) || old.Loader[3].Line != 7 {
		t.Errorf("old format: %+v", old.Loader)
	}
}

func TestParseConverterLog(t *testing.T) {
	lg := parseLogFile(t, "convert.txt")
	if len(lg.Converter) != 5 || len(lg.Loader) != 0 {
		t.Fatalf("%+v", lg)
	}
	c := lg.Converter
	if c[0].Name != "token_embd.weight" || c[0].Type != BF16 || c[0].From != "torch.bfloat16" || !reflect.DeepEqual(c[0].Shape, []int64{128256, 4096}) {
		t.Errorf("%+v", c[0])
	}
	if !reflect.DeepEqual(c[1].Shape, []int64{4096}) || c[3].Type != Q8_0 || !reflect.DeepEqual(c[4].Shape, []int64{8, 14336, 4096}) {
		t.Errorf("%+v", c)
	}
}

func TestParseEvalCallback(t *testing.T) {
	lg := parseLogFile(t, "eval_callback.txt")
	if len(lg.Eval) != 4 {
		t.Fatalf("%d dumps", len(lg.Eval))
	}
	emb := lg.Eval[0]
	if emb.Name != "inp_embd" || emb.Op != "GET_ROWS" || emb.TypeName != "f32" || !reflect.DeepEqual(emb.Shape, []int64{3, 64}) ||
		!emb.HasSum || emb.Sum != 12.345678 || len(emb.Sources) != 2 ||
		!reflect.DeepEqual(emb.Sources[0], EvalSource{"token_embd.weight", []int64{64, 512, 1, 1}}) || emb.Sources[1].Name != "inp_tokens" {
		t.Errorf("%+v", emb)
	}
	// 3 rows of first 3 and last 3: 18 values at their true positions.
	if len(emb.Values) != 18 {
		t.Fatalf("%d values", len(emb.Values))
	}
	for _, v := range emb.Values {
		want := 0.01*float64(v.Index[0]) - 0.1*float64(v.Index[1])
		if math.Abs(v.Value-want) > EvalValueTolerance || v.Flat != v.Index[1]*64+v.Index[0] {
			t.Errorf("%+v, want %g", v, want)
		}
	}
	if q := lg.Eval[1]; q.TypeName != "q8_0" || len(q.Values) != 0 || q.HasSum {
		t.Errorf("quantized node: %+v", q)
	}
	// {9, 9, 8, 2}: every dimension but the outermost elided to 3+3.
	kq := lg.Eval[2]
	if len(kq.Values) != 6*6*6*2 || !reflect.DeepEqual(kq.Shape, []int64{2, 8, 9, 9}) {
		t.Fatalf("kq: %d values, shape %v", len(kq.Values), kq.Shape)
	}
	for _, v := range kq.Values {
		want := float64(v.Index[0] + 10*v.Index[1] + 100*v.Index[2] + 1000*v.Index[3])
		flat := ((v.Index[3]*8+v.Index[2])*9+v.Index[1])*9 + v.Index[0]
		if v.Value != want || v.Flat != flat {
			t.Fatalf("%+v, want %g at %d", v, want, flat)
		}
	}
	// A tensor small enough to print whole: the printed values are all of
	// it, NaN included.
	sm := lg.Eval[3]
	if len(sm.Values) != 4 || !math.IsNaN(sm.Values[2].Value) || sm.Values[3].Value != 4 || !math.IsNaN(sm.Sum) {
		t.Errorf("small: %+v", sm)
	}

	old := parseLogFile(t, "eval_callback_old.txt")
	if len(old.Eval) != 2 || old.Eval[1].Name != "norm-0" || old.Eval[1].Sources[0].Name != "CUDA0#inp_embd#0" ||
		len(old.Eval[0].Values) != 3 || old.Eval[0].Values[2].Value != 0.0272 || old.Eval[0].HasSum {
		t.Errorf("old format: %+v", old.Eval)
	}
}

func TestParseLogErrors(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"llama_model_loader: - tensor    x: a f32 [ 1, 1, 1, 1 ]", "l.txt:1: loader line: tensor number"},
		{"llama_model_loader: - tensor    0: a f32 1, 1", "no [dims]"},
		{"llama_model_loader: - tensor    0: a f32 [ 1, -1, 1, 1 ]", `tensor "a": dimension "-1"`},
		{"x\nINFO:hf-to-gguf:a,  torch.float32 --> F32, shape = 7", "l.txt:2: converter line: tensor \"a\": want 'shape"},
		{"ggml_debug: x = (f32) ADD(a{1, 1, 1, 1}, }) = {2, 1}", "ne {2, 1}"},
		{"ggml_debug: x = (f32) ADD(a{1, 1, 1, 1}, }) = {4294967296, 4294967296, 1, 1}", "overflows"},
		{"ggml_debug: x = (f32) ADD(a{1, 1, 1, 1}, }) = {2, 1, 1, 1}\n [\n  [\n   [ 1, 2, 3 ],\n  ],\n ]\n sum = 6", "3+0 printed for a dimension of 2"},
		{"ggml_debug: x = (f32) ADD(a{1, 1, 1, 1}, }) = {2, 1, 1, 1}\n [\n  [\n   [ 1, zz ],", "value \"zz\""},
		{"ggml_debug: x = (f32) ADD(a{1, 1, 1, 1}, }) = {2, 1, 1, 1}\n [\n  [\n   [ 1, 2 ],\nllama_perf: 1", "inside its values"},
		{"ggml_debug: x = (f32) ADD(a{1, 1, 1, 1}, }) = {2, 1, 1, 1}\n [\n  [", "ends inside its values"},
	} {
		_, err := ParseLog(strings.NewReader(c.text), "l.txt", DefaultLogBudget())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%.50q: %v, want %q", c.text, err, c.want)
		}
	}
	b := DefaultLogBudget()
	b.MaxValues = 10
	fh, _ := os.Open("testdata/logs/eval_callback.txt")
	defer fh.Close()
	if _, err := ParseLog(fh, "e.txt", b); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("value budget: %v", err)
	}
}

func FuzzParseLog(f *testing.F) {
	for _, n := range []string{"loader_v3.txt", "loader_v1_2023.txt", "convert.txt", "eval_callback.txt", "eval_callback_old.txt"} {
		b, err := os.ReadFile("testdata/logs/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := DefaultLogBudget()
		b.MaxValues = 1 << 16
		lg, err := ParseLog(strings.NewReader(s), "fuzz.txt", b)
		if err != nil {
			return
		}
		for _, e := range lg.Eval {
			n := int64(1)
			for _, d := range e.Dims {
				n *= d
			}
			for _, v := range e.Values {
				if v.Flat < 0 || (n > 0 && v.Flat >= n) {
					t.Fatalf("%s: value at %d of %d", e.Name, v.Flat, n)
				}
			}
		}
	})
}
