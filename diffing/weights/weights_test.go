package weights

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/tensor"
)

// lst builds a listing from lines "name [SHAPE] [DTYPE]" where SHAPE is
// 2x3, "-" for a scalar, or absent (unknown).
func testListing(source string, lines ...string) tensor.Listing {
	l := tensor.Listing{Source: source}
	for _, line := range lines {
		f := strings.Fields(line)
		w := tensor.Info{Name: f[0]}
		for _, tok := range f[1:] {
			switch {
			case tok == "-":
				w.Shape = []int64{}
			case tok[0] >= '0' && tok[0] <= '9':
				w.Shape = []int64{}
				for _, d := range strings.Split(tok, "x") {
					n, err := strconv.ParseInt(d, 10, 64)
					if err != nil {
						panic(line)
					}
					w.Shape = append(w.Shape, n)
				}
			default:
				dt, err := tensor.ParseDType(tok)
				if err != nil {
					panic(line)
				}
				w.DType = dt
			}
		}
		l.Weights = append(l.Weights, w)
	}
	return l
}

func rowField[T any](rows []T, name func(T) string) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, name(r))
	}
	return out
}

func missingNames(r Report) []string {
	return rowField(r.Missing, func(w Row) string { return w.Name })
}

func unexpectedNames(r Report) []string {
	return rowField(r.Unexpected, func(w Row) string { return w.Name })
}

func parseOpts(t *testing.T, maps, ignores, tied []string, ignoreDType bool) Options {
	t.Helper()
	o, err := ParseOptions(maps, ignores, tied, ignoreDType)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func wantEq(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

func TestDiffWeightsIdentical(t *testing.T) {
	a := testListing("ref", "a.weight 4x2 F32", "a.bias 4 F32", "n -  I64")
	r := Diff(a, a, Options{})
	if !r.Pass || r.Counts.Matched != 3 {
		t.Fatalf("%+v", r)
	}
	wantEq(t, "expected summary", r.Expected, ListingSummary{Source: "ref", Tensors: 3, Parameters: 8 + 4 + 1, Notes: []string{}})
}

func TestDiffWeightsBasic(t *testing.T) {
	exp := testListing("ref", "z.w 2x2 F32", "a.w 3 F32", "m.w 4 F32", "b.w 5 BF16", "s -")
	got := testListing("port", "x.w 1 F32", "a.w 3 F32", "b.w 5 F32", "m.w 2x2 F32", "s 1", "y.w 1")
	r := Diff(exp, got, Options{})
	if r.Pass {
		t.Error("pass")
	}
	wantEq(t, "missing (source order)", missingNames(r), []string{"z.w"})
	wantEq(t, "unexpected (source order)", unexpectedNames(r), []string{"x.w", "y.w"})
	wantEq(t, "shape mismatch", r.ShapeMismatch, []ShapeMismatch{
		{Name: "m.w", LoadedName: "m.w", ExpectedShape: []int64{4}, LoadedShape: []int64{2, 2}, Hint: "reshaped: same 4 elements, loaded [2 2], expected [4]"},
		{Name: "s", LoadedName: "s", ExpectedShape: []int64{}, LoadedShape: []int64{1}, Hint: "reshaped: same 1 elements, loaded [1], expected []"},
	})
	wantEq(t, "dtype mismatch", r.DTypeMismatch, []DTypeMismatch{
		{Name: "b.w", LoadedName: "b.w", ExpectedDType: tensor.BF16, LoadedDType: tensor.F32, Hint: "upcast: the port keeps a wider float type"},
	})
	wantEq(t, "counts", r.Counts, Counts{Matched: 4, Missing: 1, Unexpected: 2, ShapeMismatch: 2, DTypeMismatch: 1})

	r = Diff(exp, got, Options{IgnoreDType: true})
	wantEq(t, "--ignore-dtype", len(r.DTypeMismatch), 0)
}

func TestDiffWeightsUnknownNeverMismatch(t *testing.T) {
	exp := testListing("ref", "a 2x3 F32", "b", "c 4")
	got := testListing("port", "a", "b 7 BF16", "c 4 F16")
	r := Diff(exp, got, Options{})
	if !r.Pass {
		t.Fatalf("unknown shapes or dtypes mismatched: %+v %+v", r.ShapeMismatch, r.DTypeMismatch)
	}
	wantEq(t, "unknown shapes", []int{r.Expected.UnknownShapes, r.Loaded.UnknownShapes}, []int{1, 1})
	wantEq(t, "parameters", []int64{r.Expected.Parameters, r.Loaded.Parameters}, []int64{10, 11})
}

func TestDiffWeightsMapIgnore(t *testing.T) {
	exp := testListing("ref", "model.layers.0.q.weight 4x4", "model.layers.0.rotary.inv_freq 2", "model.norm.weight 4")
	got := testListing("port", "layers.0.q.weight 4x4", "layers.0.rotary.inv_freq 2", "norm.weight 8", "extra.thing 1")
	o := parseOpts(t, []string{`^=model.`}, []string{"*.inv_freq", "model.extra.*"}, nil, false)
	r := Diff(exp, got, o)
	wantEq(t, "missing", missingNames(r), []string{})
	wantEq(t, "unexpected", unexpectedNames(r), []string{})
	wantEq(t, "ignored", r.Ignored, IgnoredNames{
		Expected: []string{"model.layers.0.rotary.inv_freq"},
		Loaded:   []string{"layers.0.rotary.inv_freq", "extra.thing"},
	})
	wantEq(t, "shape mismatch shows both names", r.ShapeMismatch[0].Name+" <- "+r.ShapeMismatch[0].LoadedName, "model.norm.weight <- norm.weight")
	wantEq(t, "options echo", r.Options, OptionsEcho{Map: []string{"^=model."}, Ignore: []string{"*.inv_freq", "model.extra.*"}, Tied: []string{}})

	// An unexpected row carries the mapped name.
	got.Weights = append(got.Weights, tensor.Info{Name: "other.w"})
	r = Diff(exp, got, o)
	wantEq(t, "unexpected row", r.Unexpected, []Row{{Name: "other.w", MappedName: "model.other.w"}})
}

func TestDiffWeightsTied(t *testing.T) {
	exp := testListing("ref", "model.embed_tokens.weight 100x8", "lm_head.weight 100x8")
	got := testListing("port", "model.embed_tokens.weight 100x8")
	o := parseOpts(t, nil, nil, []string{"lm_head.weight=model.embed_tokens.weight"}, false)
	r := Diff(exp, got, o)
	if !r.Pass {
		t.Fatalf("tied not accepted: %+v", r.Missing)
	}
	wantEq(t, "tied", r.Tied, []TiedRow{{Name: "lm_head.weight", TiedTo: "model.embed_tokens.weight", LoadedName: "model.embed_tokens.weight", Shape: []int64{100, 8}}})

	// Either half may be the one stored.
	got2 := testListing("port", "lm_head.weight 100x8")
	if r := Diff(exp, got2, o); !r.Pass || r.Tied[0].Name != "model.embed_tokens.weight" {
		t.Errorf("reverse tie: %+v", r)
	}

	// Shapes differ: stays missing, with the reason.
	got3 := testListing("port", "model.embed_tokens.weight 100x9")
	r = Diff(exp, got3, o)
	wantEq(t, "missing", missingNames(r), []string{"lm_head.weight"})
	wantEq(t, "hint", r.Missing[0].Hint, "--tied lm_head.weight=model.embed_tokens.weight: model.embed_tokens.weight is loaded as model.embed_tokens.weight with shape [100 9], not [100 8]")
}

func TestDiffWeightsCollisionsAndDuplicates(t *testing.T) {
	exp := testListing("ref", "a.w 2", "b.w 2", "a.w 3")
	got := testListing("port", "x.a.w 2", "y.a.w 2", "b.w 2", "b.w 2")
	r := Diff(exp, got, parseOpts(t, []string{`^[xy]\.=`}, nil, nil, false))
	if r.Pass {
		t.Error("collisions pass")
	}
	wantEq(t, "collisions", r.Collisions, []Collision{
		{Name: "a.w", LoadedNames: []string{"x.a.w", "y.a.w"}},
		{Name: "b.w", LoadedNames: []string{"b.w", "b.w"}},
	})
	wantEq(t, "notes", r.Expected.Notes, []string{"1 duplicate names; the first of each was compared"})
	wantEq(t, "no other rows", len(r.Missing)+len(r.Unexpected)+len(r.ShapeMismatch), 0)
}

// applyFix re-runs the diff with a hint's fix added and returns the new report.
func applyFix(t *testing.T, exp, got tensor.Listing, o Options, h Hint) Report {
	t.Helper()
	if len(h.FixArgs) == 0 {
		t.Fatalf("hint without a fix: %+v", h)
	}
	var maps, tied []string
	ign := o.IgnoreDType
	for _, m := range o.Rules.Maps {
		maps = append(maps, m.String())
	}
	for _, p := range o.Tied {
		tied = append(tied, p.String())
	}
	var ignores []string
	for _, g := range o.Rules.Ignore {
		ignores = append(ignores, g.String())
	}
	switch h.FixArgs[0] {
	case "--map":
		maps = append(maps, h.FixArgs[1])
	case "--tied":
		tied = append(tied, h.FixArgs[1])
	case "--ignore-dtype":
		ign = true
	default:
		t.Fatalf("unknown fix %q", h.FixArgs)
	}
	return Diff(exp, got, parseOpts(t, maps, ignores, tied, ign))
}

func hintsOf(r Report, kind string) []Hint {
	var out []Hint
	for _, h := range r.Hints {
		if h.Kind == kind {
			out = append(out, h)
		}
	}
	return out
}

func llamaNames(prefix string, layers int) []string {
	out := []string{prefix + "embed_tokens.weight 64x16"}
	for i := range layers {
		for _, p := range []string{"self_attn.q_proj.weight 16x16", "self_attn.k_proj.weight 4x16", "mlp.up_proj.weight 32x16", "input_layernorm.weight 16"} {
			out = append(out, fmt.Sprintf("%slayers.%d.%s", prefix, i, p))
		}
	}
	return append(out, prefix+"norm.weight 16")
}

func TestHintPrefix(t *testing.T) {
	exp := testListing("ref", append(llamaNames("model.", 3), "lm_head.weight 64x16")...)
	tests := []struct {
		name    string
		loaded  []string
		fix     string
		message string
	}{
		{"port drops the prefix", append(llamaNames("", 3), "lm_head.weight 64x16"),
			`--map '^((?:embed_tokens|layers|norm)\.)=model.${1}'`, `14 missing weights are loaded without the prefix "model."`},
		{"port adds a prefix", prefixAll("base.", append(llamaNames("model.", 3), "lm_head.weight 64x16")),
			`--map '^base\.='`, `15 missing weights are loaded with an extra prefix "base."`},
		{"port replaces the prefix", append(llamaNames("transformer.", 3), "lm_head.weight 64x16"),
			`--map '^transformer\.=model.'`, `14 missing weights are loaded with the prefix "transformer." instead of "model."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := testListing("port", tt.loaded...)
			r := Diff(exp, got, Options{})
			hs := hintsOf(r, HintPrefix)
			if len(hs) != 1 {
				t.Fatalf("prefix hints: %+v", r.Hints)
			}
			wantEq(t, "fix", hs[0].Fix, tt.fix)
			wantEq(t, "message", hs[0].Message, tt.message)
			wantEq(t, "names", len(hs[0].Names), 2*len(r.Missing))
			for _, m := range r.Missing {
				if !strings.HasPrefix(m.Hint, "loaded as ") || !strings.HasSuffix(m.Hint, tt.fix) {
					t.Errorf("row hint %q", m.Hint)
				}
			}
			for _, u := range r.Unexpected {
				if !strings.HasPrefix(u.Hint, "expected as ") {
					t.Errorf("row hint %q", u.Hint)
				}
			}
			if fixed := applyFix(t, exp, got, Options{}, hs[0]); !fixed.Pass {
				t.Errorf("the fix does not fix it: %+v %+v", fixed.Missing, fixed.Unexpected)
			}
		})
	}
}

func prefixAll(p string, lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = p + l
	}
	return out
}

func TestHintPrefixTwoGroups(t *testing.T) {
	exp := testListing("ref", "encoder.layers.0.w 2", "encoder.layers.1.w 2", "decoder.layers.0.w 2", "decoder.layers.1.w 2", "shared.w 3")
	got := testListing("port", "enc.layers.0.w 2", "enc.layers.1.w 2", "dec.layers.0.w 2", "dec.layers.1.w 2", "shared.w 3")
	r := Diff(exp, got, Options{})
	hs := hintsOf(r, HintPrefix)
	if len(hs) != 2 {
		t.Fatalf("hints: %+v", r.Hints)
	}
	o := Options{}
	for _, h := range hs {
		o.Rules.Maps = append(o.Rules.Maps, mustMap(t, h.FixArgs[1]))
	}
	if r := Diff(exp, got, o); !r.Pass {
		t.Errorf("both fixes together: %+v", r)
	}
}

func mustMap(t *testing.T, s string) names.MapRule {
	t.Helper()
	m, err := names.ParseMap(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestHintPrefixNotSuggestedWhenItBreaks(t *testing.T) {
	// Adding "model." to every loaded name would break the names that
	// already match; the hint limits the rule to the first components seen.
	exp := testListing("ref", "model.a.w 2", "model.a.b 2", "lm_head.weight 2")
	got := testListing("port", "a.w 2", "a.b 2", "lm_head.weight 2")
	r := Diff(exp, got, Options{})
	hs := hintsOf(r, HintPrefix)
	if len(hs) != 1 || hs[0].Fix != `--map '^(a\.)=model.${1}'` {
		t.Fatalf("hints: %+v", r.Hints)
	}
	if !applyFix(t, exp, got, Options{}, hs[0]).Pass {
		t.Error("fix does not fix")
	}
}

func TestHintFused(t *testing.T) {
	tests := []struct {
		name         string
		exp, loaded  []string
		kind, row    string
		msg          string
		missingHints []string
	}{
		{"qkv multi-head",
			[]string{"l.0.attn.q_proj.weight 8x8", "l.0.attn.k_proj.weight 8x8", "l.0.attn.v_proj.weight 8x8", "l.0.attn.o_proj.weight 8x8"},
			[]string{"l.0.attn.qkv_proj.weight 24x8", "l.0.attn.o_proj.weight 8x8"},
			HintFused, "fuses q_proj, k_proj, v_proj concatenated along dim 0 (8+8+8)",
			"loaded l.0.attn.qkv_proj.weight [24 8] is q_proj, k_proj, v_proj concatenated along dim 0 (8+8+8); split it when exporting, or compare against the fused reference",
			[]string{"part 1 of 3 of loaded l.0.attn.qkv_proj.weight: [0:8] along dim 0", "part 2 of 3 of loaded l.0.attn.qkv_proj.weight: [8:16] along dim 0", "part 3 of 3 of loaded l.0.attn.qkv_proj.weight: [16:24] along dim 0"}},
		{"qkv GQA, missing listed out of order",
			[]string{"a.v_proj.weight 2x8", "a.k_proj.weight 2x8", "a.q_proj.weight 8x8"},
			[]string{"a.qkv_proj.weight 12x8"},
			HintFused, "fuses q_proj, k_proj, v_proj concatenated along dim 0 (8+2+2)", "", nil},
		{"gate_up",
			[]string{"m.gate_proj.weight 32x8", "m.up_proj.weight 32x8", "m.down_proj.weight 8x32"},
			[]string{"m.gate_up_proj.weight 64x8", "m.down_proj.weight 8x32"},
			HintFused, "fuses gate_proj, up_proj concatenated along dim 0 (32+32)", "", nil},
		{"dim 1",
			[]string{"m.w1.weight 8x4", "m.w3.weight 8x4"},
			[]string{"m.w13.weight 8x8"},
			HintFused, "fuses w1, w3 concatenated along dim 1 (4+4)", "", nil},
		{"bias",
			[]string{"a.q_proj.bias 8", "a.k_proj.bias 2", "a.v_proj.bias 2"},
			[]string{"a.qkv_proj.bias 12"},
			HintFused, "fuses q_proj, k_proj, v_proj concatenated along dim 0 (8+2+2)", "", nil},
		{"names unlike, one subset fits",
			[]string{"h.0.attn.query.weight 8x8", "h.0.attn.key.weight 8x8", "h.0.attn.value.weight 8x8"},
			[]string{"h.0.attn.c_attn.weight 24x8"},
			HintFused, "fuses query, key, value concatenated along dim 0 (8+8+8)", "", nil},
		{"query_key_value",
			[]string{"h.query.weight 8x8", "h.key.weight 8x8", "h.value.weight 8x8"},
			[]string{"h.query_key_value.weight 24x8"},
			HintFused, "fuses query, key, value concatenated along dim 0 (8+8+8)", "", nil},
		{"split: reference fused, port separate",
			[]string{"a.qkv_proj.weight 12x8"},
			[]string{"a.q_proj.weight 8x8", "a.k_proj.weight 2x8", "a.v_proj.weight 2x8"},
			HintSplit, "", "expected a.qkv_proj.weight [12 8] is loaded as q_proj, k_proj, v_proj concatenated along dim 0 (8+2+2); concatenate them when loading or split the reference", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Diff(testListing("ref", tt.exp...), testListing("port", tt.loaded...), Options{})
			hs := hintsOf(r, tt.kind)
			if len(hs) != 1 {
				t.Fatalf("hints: %+v", r.Hints)
			}
			if tt.kind == HintFused {
				wantEq(t, "unexpected row hint", r.Unexpected[0].Hint, tt.row)
			} else {
				wantEq(t, "missing row hint", r.Missing[0].Hint, "loaded split: q_proj, k_proj, v_proj concatenated along dim 0 (8+2+2)")
				wantEq(t, "unexpected row hint", r.Unexpected[1].Hint, "part 2 of 3 of expected a.qkv_proj.weight: [8:10] along dim 0")
			}
			if tt.msg != "" {
				wantEq(t, "message", hs[0].Message, tt.msg)
			}
			if tt.missingHints != nil {
				wantEq(t, "missing row hints", rowField(r.Missing, func(w Row) string { return w.Hint }), tt.missingHints)
			}
			if len(hs[0].Names) != len(tt.exp)+len(tt.loaded)-2*r.Counts.Matched {
				t.Errorf("names %q", hs[0].Names)
			}
		})
	}
}

func TestHintFusedNoMatch(t *testing.T) {
	// Shapes do not add up: no fused hint.
	r := Diff(
		testListing("ref", "a.q_proj.weight 8x8", "a.k_proj.weight 8x8", "a.v_proj.weight 8x8"),
		testListing("port", "a.qkv_proj.weight 25x8"), Options{})
	if len(hintsOf(r, HintFused)) != 0 {
		t.Errorf("hints: %+v", r.Hints)
	}
}

func TestHintFusedAcrossLayersMerges(t *testing.T) {
	var exp, got []string
	for i := range 4 {
		exp = append(exp, fmt.Sprintf("m.layers.%d.q_proj.weight 8x8", i), fmt.Sprintf("m.layers.%d.k_proj.weight 2x8", i), fmt.Sprintf("m.layers.%d.v_proj.weight 2x8", i))
		got = append(got, fmt.Sprintf("m.layers.%d.qkv_proj.weight 12x8", i))
	}
	r := Diff(testListing("ref", exp...), testListing("port", got...), Options{})
	if len(r.Hints) != 1 {
		t.Fatalf("hints: %+v", r.Hints)
	}
	wantEq(t, "message", r.Hints[0].Message, "loaded m.layers.{0..3}.qkv_proj.weight [12 8] is q_proj, k_proj, v_proj concatenated along dim 0 (8+2+2); split it when exporting, or compare against the fused reference")
	wantEq(t, "names", len(r.Hints[0].Names), 16)
}

func TestHintTiedSuggested(t *testing.T) {
	exp := testListing("ref", "model.embed_tokens.weight 100x8", "model.norm.weight 8", "lm_head.weight 100x8")
	got := testListing("port", "model.embed_tokens.weight 100x8", "model.norm.weight 8")
	r := Diff(exp, got, Options{})
	hs := hintsOf(r, HintTied)
	if len(hs) != 1 {
		t.Fatalf("hints: %+v", r.Hints)
	}
	wantEq(t, "hint", hs[0], Hint{
		Kind:    HintTied,
		Message: "lm_head.weight is missing and has the embedding's shape [100 8]: the port likely ties it to model.embed_tokens.weight",
		Names:   []string{"lm_head.weight", "model.embed_tokens.weight"},
		Fix:     "--tied 'lm_head.weight=model.embed_tokens.weight'",
		FixArgs: []string{"--tied", "lm_head.weight=model.embed_tokens.weight"},
	})
	wantEq(t, "row", r.Missing[0].Hint, "likely tied to model.embed_tokens.weight; --tied 'lm_head.weight=model.embed_tokens.weight'")
	if !applyFix(t, exp, got, Options{}, hs[0]).Pass {
		t.Error("fix does not fix")
	}

	// Another shape: not tied.
	exp2 := testListing("ref", "model.embed_tokens.weight 100x8", "lm_head.weight 101x8")
	if r := Diff(exp2, got, Options{}); len(hintsOf(r, HintTied)) != 0 {
		t.Errorf("tied hint for different shapes: %+v", r.Hints)
	}
	// Unknown shapes (an index without shards): a weaker hint.
	r = Diff(testListing("ref", "transformer.wte.weight", "lm_head.weight"), testListing("port", "transformer.wte.weight"), Options{})
	if hs := hintsOf(r, HintTied); len(hs) != 1 || !strings.Contains(hs[0].Message, "shapes unknown") {
		t.Errorf("hints: %+v", r.Hints)
	}
}

func TestHintShapes(t *testing.T) {
	exp := testListing("ref", "l.0.w 4x8", "l.1.w 4x8", "c.w 64x3x5x5", "e.w 32000x16", "r.w 16", "x.w 3x5")
	got := testListing("port", "l.0.w 8x4", "l.1.w 8x4", "c.w 5x5x3x64", "e.w 32064x16", "r.w 4x4", "x.w 7x9")
	r := Diff(exp, got, Options{})
	wantEq(t, "row hints", rowField(r.ShapeMismatch, func(m ShapeMismatch) string { return m.Hint }), []string{
		"transposed: loaded [8 4] is expected [4 8] with its dims swapped (PyTorch Linear stores [out, in])",
		"transposed: loaded [8 4] is expected [4 8] with its dims swapped (PyTorch Linear stores [out, in])",
		"dims permuted: loaded [5 5 3 64] is expected [64 3 5 5] permuted as (2, 3, 1, 0)",
		"resized: dim 0 is 32064, expected 32000 (+64)",
		"reshaped: same 16 elements, loaded [4 4], expected [16]",
		"",
	})
	wantEq(t, "hint kinds", rowField(r.Hints, func(h Hint) string { return h.Kind }), []string{HintTransposed, HintTransposed, HintReshaped, HintResized})
	wantEq(t, "merged across layers", r.Hints[0].Message, "l.{0,1}.w: transposed: loaded [8 4] is expected [4 8] with its dims swapped (PyTorch Linear stores [out, in])")
	wantEq(t, "names", r.Hints[0].Names, []string{"l.0.w", "l.1.w"})
}

func TestHintClosestAndRename(t *testing.T) {
	// One rename across several roles and layers: a verified --map.
	var exp, got []string
	for i := range 3 {
		for _, p := range []string{"q_proj.weight 8x8", "k_proj.weight 2x8", "v_proj.weight 2x8", "o_proj.weight 8x8"} {
			exp = append(exp, fmt.Sprintf("model.layers.%d.self_attn.%s", i, p))
			got = append(got, fmt.Sprintf("model.layers.%d.attn.%s", i, p))
		}
		exp = append(exp, fmt.Sprintf("model.layers.%d.mlp.up.weight 8x8", i))
		got = append(got, fmt.Sprintf("model.layers.%d.mlp.up.weight 8x8", i))
	}
	el, gl := testListing("ref", exp...), testListing("port", got...)
	r := Diff(el, gl, Options{})
	hs := hintsOf(r, HintRename)
	if len(r.Hints) != 1 || len(hs) != 1 {
		t.Fatalf("hints: %+v", r.Hints)
	}
	wantEq(t, "fix", hs[0].Fix, `--map '\.attn\.=.self_attn.'`)
	wantEq(t, "message", hs[0].Message, `12 missing weights are loaded with "attn" where the reference has "self_attn"`)
	wantEq(t, "report fix", r.Fix, hs[0].Fix)
	if !applyFix(t, el, gl, Options{}, hs[0]).Pass {
		t.Error("fix does not fix")
	}

	// A near-typo in one weight: a verified --map too.
	el, gl = testListing("ref", "enc.attn_norm.weight 8", "enc.fc.weight 8x8"), testListing("port", "enc.attn_nrm.weight 8", "enc.fc.weight 8x8", "zzz.other 3")
	r = Diff(el, gl, Options{})
	hs = hintsOf(r, HintRename)
	if len(r.Hints) != 1 || len(hs) != 1 {
		t.Fatalf("hints: %+v", r.Hints)
	}
	wantEq(t, "typo fix", hs[0].Fix, `--map '\.attn_nrm\.=.attn_norm.'`)
	wantEq(t, "far name has no hint", r.Unexpected[1].Hint, "")
	if fixed := applyFix(t, el, gl, Options{}, hs[0]); len(fixed.Missing) != 0 {
		t.Error("fix does not fix")
	}

	// Alike but not nearly equal, one role: a closest-name hint, no fix.
	exp, got = nil, nil
	for i := range 3 {
		exp = append(exp, fmt.Sprintf("model.layers.%d.self_attn.q_proj.weight 8x8", i), fmt.Sprintf("model.layers.%d.mlp.up.weight 8x8", i))
		got = append(got, fmt.Sprintf("model.layers.%d.attention.wq.weight 8x8", i), fmt.Sprintf("model.layers.%d.mlp.up.weight 8x8", i))
	}
	r = Diff(testListing("ref", exp...), testListing("port", got...), Options{})
	if len(r.Hints) != 1 || r.Hints[0].Kind != HintClosest || r.Hints[0].Fix != "" {
		t.Fatalf("hints: %+v", r.Hints)
	}
	wantEq(t, "closest", r.Hints[0].Message, "missing model.layers.{0..2}.self_attn.q_proj.weight may be loaded as model.layers.{0..2}.attention.wq.weight")
	wantEq(t, "rows", []string{r.Missing[0].Hint, r.Unexpected[0].Hint}, []string{"closest loaded name: model.layers.0.attention.wq.weight", "closest expected name: model.layers.0.self_attn.q_proj.weight"})

	// Ambiguous: wq is as far from q_proj as from o_proj: no hint.
	r = Diff(testListing("ref", "l.0.attn.q_proj.weight 8x8", "l.0.attn.o_proj.weight 8x8"), testListing("port", "l.0.attn.wq.weight 8x8", "l.0.attn.wo.weight 8x8"), Options{})
	if len(r.Hints) != 0 {
		t.Errorf("hints: %+v", r.Hints)
	}

	// Different layer numbers never pair; far names never pair.
	r = Diff(testListing("ref", "l.0.attn.q.weight 8", "totally.different 8"), testListing("port", "l.1.attn.q.weight 8", "nothing.alike.at.all 8"), Options{})
	if len(r.Hints) != 0 {
		t.Errorf("hints: %+v", r.Hints)
	}
}

func TestHintClosestWithoutRule(t *testing.T) {
	// The rename would also rename a matched weight, so it is not offered
	// as a --map; the closest-name hint remains.
	exp := testListing("ref", "a.norm.weight 8", "b.nrm.weight 8", "b.x 1")
	got := testListing("port", "a.nrm.weight 8", "b.nrm.weight 8", "b.x 1")
	r := Diff(exp, got, Options{})
	// rename a.nrm -> a.norm rule is `\.nrm\.=.norm.` in the middle? No:
	// the differing run is at the start ("a" shared), so the rule is
	// \.nrm\.=.norm. and would break b.nrm.weight.
	if len(hintsOf(r, HintRename)) != 0 {
		t.Fatalf("rename offered: %+v", r.Hints)
	}
	cl := hintsOf(r, HintClosest)
	if len(cl) != 1 || cl[0].Message != "missing a.norm.weight may be loaded as a.nrm.weight" {
		t.Fatalf("hints: %+v", r.Hints)
	}
	wantEq(t, "rows", []string{r.Missing[0].Hint, r.Unexpected[0].Hint}, []string{"closest loaded name: a.nrm.weight", "closest expected name: a.norm.weight"})
}

func TestHintDType(t *testing.T) {
	exp := testListing("ref", "a 2 BF16", "b 2 BF16", "c 2 F32", "i 2 I64")
	got := testListing("port", "a 2 F32", "b 2 F32", "c 2 F16", "i 2 I64")
	r := Diff(exp, got, Options{})
	hs := hintsOf(r, HintDType)
	if len(hs) != 1 || hs[0].Message != "2 weights are F32 where the reference has BF16" || hs[0].Fix != "--ignore-dtype" {
		t.Fatalf("hints: %+v", r.Hints)
	}
	wantEq(t, "rows", rowField(r.DTypeMismatch, func(d DTypeMismatch) string { return d.Hint }),
		[]string{"upcast: the port keeps a wider float type", "upcast: the port keeps a wider float type", "downcast: the port keeps a narrower float type"})
	if !applyFix(t, exp, got, Options{}, hs[0]).Pass {
		t.Error("fix does not fix")
	}
}

func TestWeightsReportJSON(t *testing.T) {
	r := Diff(testListing("ref", "a 2x3 F32", "b 2"), testListing("port", "a 3x2 BF16", "c"), Options{})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"pass", "expected", "loaded", "counts", "options", "missing", "unexpected", "shape_mismatch", "dtype_mismatch", "tied", "collisions", "ignored", "hints"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b)
		}
	}
	for _, want := range []string{
		`"expected":{"source":"ref","tensors":2,"parameters":8,"unknown_shapes":0,"notes":[]}`,
		`"missing":[{"name":"b","shape":[2],"dtype":"","hint":""}]`,
		`"unexpected":[{"name":"c","shape":null,"dtype":"","hint":""}]`,
		`"shape_mismatch":[{"name":"a","loaded_name":"a","expected_shape":[2,3],"loaded_shape":[3,2],"hint":"transposed:`,
		`"dtype_mismatch":[{"name":"a","loaded_name":"a","expected_dtype":"F32","loaded_dtype":"BF16","hint":"downcast`,
		`"tied":[]`, `"collisions":[]`, `"ignored":{"expected":[],"loaded":[]}`,
		`"hints":[{"kind":"transposed","message":"a: transposed:`, `"names":["a"]}`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("JSON lacks %s\n%s", want, b)
		}
	}
	// Empty report: lists are [] not null.
	b, _ = json.Marshal(Diff(tensor.Listing{}, tensor.Listing{}, Options{}))
	if bytes.Contains(b, []byte("null")) {
		t.Errorf("null in %s", b)
	}
}

func TestDiffWeightsDeterministic(t *testing.T) {
	var exp, got []string
	for i := range 8 {
		exp = append(exp, fmt.Sprintf("model.layers.%d.self_attn.q_proj.weight 8x8", i), fmt.Sprintf("model.layers.%d.self_attn.k_proj.weight 8x8", i), fmt.Sprintf("model.layers.%d.mlp.w 8x4", i))
		got = append(got, fmt.Sprintf("layers.%d.attn.qk.weight 16x8", i), fmt.Sprintf("layers.%d.mlp.w 4x8", i))
	}
	el, gl := testListing("ref", exp...), testListing("port", got...)
	first, _ := json.Marshal(Diff(el, gl, Options{}))
	for range 10 {
		b, _ := json.Marshal(Diff(el, gl, Options{}))
		if !bytes.Equal(b, first) {
			t.Fatal("DiffWeights output differs between runs")
		}
	}
}

func TestMixtralMissingOneExpert(t *testing.T) {
	dir := testenv.RealData(t)
	data, err := os.ReadFile(filepath.Join(dir, "index_json", "mixtral-8x22b_WizardLM-2_model.safetensors.index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatal(err)
	}
	all := make([]string, 0, len(index.WeightMap))
	for n := range index.WeightMap {
		all = append(all, n)
	}
	slices.Sort(all)
	if len(all) != 1739 {
		t.Fatalf("%d names, want 1739", len(all))
	}
	expected := tensor.Listing{Source: "mixtral index", Notes: []string{"shard files absent: shapes unknown"}}
	loaded := tensor.Listing{Source: "manifest"}
	var want []string
	for _, n := range all {
		expected.Weights = append(expected.Weights, tensor.Info{Name: n})
		if strings.Contains(n, ".block_sparse_moe.experts.3.") {
			want = append(want, n)
			continue
		}
		loaded.Weights = append(loaded.Weights, tensor.Info{Name: n})
	}
	if len(want) != 56*3 {
		t.Fatalf("%d expert-3 names, want 168", len(want))
	}
	r := Diff(expected, loaded, Options{})
	if r.Pass {
		t.Fatal("pass")
	}
	wantEq(t, "missing", missingNames(r), want)
	wantEq(t, "unexpected", len(r.Unexpected), 0)
	wantEq(t, "counts", r.Counts, Counts{Matched: 1739 - 168, Missing: 168})
	wantEq(t, "notes", r.Expected.Notes, []string{"shard files absent: shapes unknown"})
	wantEq(t, "folded", names.FoldPatterns(missingNames(r)), []string{
		"model.layers.{0..55}.block_sparse_moe.experts.3.w1.weight",
		"model.layers.{0..55}.block_sparse_moe.experts.3.w2.weight",
		"model.layers.{0..55}.block_sparse_moe.experts.3.w3.weight",
	})
	// The full list folds compactly too.
	folded := names.FoldPatterns(all)
	if len(folded) > 15 {
		t.Errorf("all names fold into %d patterns: %q", len(folded), folded)
	}
}

// optsWithArgs adds command-line fix arguments to o.
func optsWithArgs(t *testing.T, o Options, args []string) Options {
	t.Helper()
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--map":
			i++
			o.Rules.Maps = append(o.Rules.Maps, mustMap(t, args[i]))
		case "--tied":
			i++
			p, err := names.ParseTied(args[i])
			if err != nil {
				t.Fatal(err)
			}
			o.Tied = append(o.Tied, p)
		case "--ignore-dtype":
			o.IgnoreDType = true
		default:
			t.Fatalf("unknown fix argument %q", args[i])
		}
	}
	return o
}

func TestHintsChainAllFixes(t *testing.T) {
	// The port drops "model.", says attn for self_attn, and ties lm_head.
	var exp, got []string
	exp = append(exp, "model.embed_tokens.weight 64x8", "lm_head.weight 64x8", "model.norm.weight 8")
	got = append(got, "embed_tokens.weight 64x8", "norm.weight 8")
	for i := range 4 {
		for _, p := range []string{"q_proj.weight 8x8", "k_proj.weight 2x8", "v_proj.weight 2x8", "o_proj.weight 8x8"} {
			exp = append(exp, fmt.Sprintf("model.layers.%d.self_attn.%s", i, p))
			got = append(got, fmt.Sprintf("layers.%d.attn.%s", i, p))
		}
		exp = append(exp, fmt.Sprintf("model.layers.%d.mlp.up.weight 16x8", i))
		got = append(got, fmt.Sprintf("layers.%d.mlp.up.weight 16x8", i))
	}
	el, gl := testListing("ref", exp...), testListing("port", got...)
	r := Diff(el, gl, Options{})
	wantEq(t, "hint kinds", rowField(r.Hints, func(h Hint) string { return h.Kind }), []string{HintPrefix, HintRename, HintTied})
	wantEq(t, "fix", r.Fix, `--map '^=model.' --map '\.attn\.=.self_attn.' --tied 'lm_head.weight=model.embed_tokens.weight'`)
	fixed := Diff(el, gl, optsWithArgs(t, Options{}, r.FixArgs))
	if !fixed.Pass {
		t.Errorf("all fixes together do not fix: %+v", fixed)
	}
	wantEq(t, "tied", len(fixed.Tied), 1)
}

func TestDiffWeightsLargeRename(t *testing.T) {
	// 56 layers x 31 weights, every name renamed: hints stay fast.
	var el, gl tensor.Listing
	for i := range 56 {
		for e := range 8 {
			for _, w := range []string{"w1", "w2", "w3"} {
				el.Weights = append(el.Weights, tensor.Info{Name: fmt.Sprintf("model.layers.%d.block_sparse_moe.experts.%d.%s.weight", i, e, w), Shape: []int64{16, 8}})
				gl.Weights = append(gl.Weights, tensor.Info{Name: fmt.Sprintf("layers.%d.moe.experts.%d.%s.weight", i, e, w), Shape: []int64{16, 8}})
			}
		}
		for _, w := range []string{"q_proj", "k_proj", "v_proj", "o_proj"} {
			el.Weights = append(el.Weights, tensor.Info{Name: fmt.Sprintf("model.layers.%d.self_attn.%s.weight", i, w), Shape: []int64{8, 8}})
			gl.Weights = append(gl.Weights, tensor.Info{Name: fmt.Sprintf("layers.%d.attention.%s.weight", i, w), Shape: []int64{8, 8}})
		}
	}
	r := Diff(el, gl, Options{})
	if len(r.Missing) != 56*28 {
		t.Fatalf("%d missing", len(r.Missing))
	}
	fixed := Diff(el, gl, optsWithArgs(t, Options{}, r.FixArgs))
	t.Logf("fix: %s; after it: %d missing, %d unexpected", r.Fix, len(fixed.Missing), len(fixed.Unexpected))
	if len(fixed.Missing) >= len(r.Missing) {
		t.Errorf("the fixes fix nothing")
	}
}

func TestDiffWeightsFlatWorstCase(t *testing.T) {
	// Thousands of unrelated flat names on both sides: bounded time.
	var el, gl tensor.Listing
	for i := range 4000 {
		el.Weights = append(el.Weights, tensor.Info{Name: fmt.Sprintf("param_%d_a.weight", i*7919%100003), Shape: []int64{int64(i%5 + 1)}})
		gl.Weights = append(gl.Weights, tensor.Info{Name: fmt.Sprintf("tensor_%d_b.weight", i*104729%100019), Shape: []int64{int64(i%3 + 1)}})
	}
	start := time.Now()
	r := Diff(el, gl, Options{})
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
	t.Logf("%d missing, %d unexpected, %d hints in %v", len(r.Missing), len(r.Unexpected), len(r.Hints), time.Since(start))
}

func TestHintStacked(t *testing.T) {
	var exp, got []string
	for l := range 2 {
		for e := range 4 {
			exp = append(exp, fmt.Sprintf("model.layers.%d.moe.experts.%d.w1.weight 16x8", l, e))
		}
		got = append(got, fmt.Sprintf("model.layers.%d.moe.experts.w1.weight 4x16x8", l))
	}
	el, gl := testListing("ref", exp...), testListing("port", got...)
	r := Diff(el, gl, Options{})
	hs := hintsOf(r, HintStacked)
	if len(r.Hints) != 1 || len(hs) != 1 {
		t.Fatalf("hints: %+v", r.Hints)
	}
	wantEq(t, "message", hs[0].Message, "loaded model.layers.{0,1}.moe.experts.w1.weight holds 4 tensors [16 8] stacked along a new dim 0, expected one by one as model.layers.{0,1}.moe.experts.{0..3}.w1.weight")
	wantEq(t, "names", len(hs[0].Names), 10)
	wantEq(t, "missing row", r.Missing[1].Hint, "slice 1 of loaded model.layers.0.moe.experts.w1.weight [4 16 8]")
	wantEq(t, "unexpected row", r.Unexpected[0].Hint, "stacks model.layers.0.moe.experts.{0..3}.w1.weight")

	// The reverse: the reference stacks, the port loads one by one.
	r = Diff(gl, el, Options{})
	hs = hintsOf(r, HintUnstacked)
	if len(r.Hints) != 1 || len(hs) != 1 {
		t.Fatalf("hints: %+v", r.Hints)
	}
	wantEq(t, "missing row", r.Missing[0].Hint, "loaded unstacked as model.layers.0.moe.experts.{0..3}.w1.weight")
	wantEq(t, "unexpected row", r.Unexpected[2].Hint, "slice 2 of expected model.layers.0.moe.experts.w1.weight [4 16 8]")

	// Indices not 0..n-1, or another shape: no hint.
	for _, tt := range [][]string{
		{"e.1.w 2", "e.2.w 2"},
		{"e.0.w 2", "e.1.w 3"},
		{"e.0.w 2", "e.1.w 2", "e.2.w 2"},
	} {
		r = Diff(testListing("ref", tt...), testListing("port", "e.w 2x2"), Options{})
		if len(hintsOf(r, HintStacked)) != 0 {
			t.Errorf("%q: hints %+v", tt, r.Hints)
		}
	}
}

func TestHintPairThenShape(t *testing.T) {
	r := Diff(testListing("ref", "model.a.weight 6x4", "model.b.weight 2"), testListing("port", "a.weight 4x6", "b.weight 2"), Options{})
	wantEq(t, "row", r.Missing[0].Hint, "loaded as a.weight; --map '^=model.'; then its shape differs: transposed: loaded [4 6] is expected [6 4] with its dims swapped (PyTorch Linear stores [out, in])")
	wantEq(t, "row", r.Missing[1].Hint, "loaded as b.weight; --map '^=model.'")
}

// TestNameHints: the name hints alone are exactly the name-kind hints a
// whole Diff gives, in the same order, for the listings of the hint tests.
func TestNameHints(t *testing.T) {
	exp := testListing("ref", append(llamaNames("model.", 3), "lm_head.weight 64x16")...)
	nameKinds := []string{HintPrefix, HintRename, HintFused, HintSplit, HintStacked, HintUnstacked, HintClosest}
	for _, loaded := range [][]string{
		append(llamaNames("", 3), "lm_head.weight 64x16"),
		prefixAll("base.", append(llamaNames("model.", 3), "lm_head.weight 64x16")),
		append(llamaNames("transformer.", 3), "lm_head.weight 16x64"),
		llamaNames("model.", 2),
	} {
		got := testListing("port", loaded...)
		want := []Hint{}
		for _, h := range Diff(exp, got, Options{IgnoreDType: true}).Hints {
			if slices.Contains(nameKinds, h.Kind) {
				want = append(want, h)
			}
		}
		if hs := NameHints(exp, got, names.NameRules{}); !reflect.DeepEqual(hs, want) {
			t.Errorf("NameHints:\n got %+v\nwant %+v", hs, want)
		}
	}
}
