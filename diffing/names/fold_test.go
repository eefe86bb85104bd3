package names

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func layerNames(format string, idx ...int) []string {
	var out []string
	for _, i := range idx {
		out = append(out, fmt.Sprintf(format, i))
	}
	return out
}

func indexSpan(a, b int) []int {
	var out []int
	for i := a; i <= b; i++ {
		out = append(out, i)
	}
	return out
}

func TestFoldPatterns(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"empty", nil, []string{}},
		{"single", []string{"model.layers.3.mlp.w"}, []string{"model.layers.3.mlp.w"}},
		{"contiguous", layerNames("model.layers.%d.self_attn.rotary_emb.inv_freq", indexSpan(0, 31)...),
			[]string{"model.layers.{0..31}.self_attn.rotary_emb.inv_freq"}},
		{"non-contiguous", layerNames("model.layers.%d.mlp.w", 7, 0, 5, 2, 6),
			[]string{"model.layers.{0,2,5..7}.mlp.w"}},
		{"pair", layerNames("l.%d.w", 0, 1), []string{"l.{0,1}.w"}},
		{"two pairs", layerNames("l.%d.w", 0, 1, 3, 4), []string{"l.{0,1,3,4}.w"}},
		{"different roles stay apart",
			[]string{"l.0.q.w", "l.0.k.w", "l.1.q.w", "l.1.k.w"},
			[]string{"l.{0,1}.q.w", "l.{0,1}.k.w"}},
		{"product of two positions",
			nameProduct("model.layers.%d.block_sparse_moe.experts.%d.w1.weight", indexSpan(0, 3), indexSpan(0, 7)),
			[]string{"model.layers.{0..3}.block_sparse_moe.experts.{0..7}.w1.weight"}},
		{"not a product",
			append(nameProduct("l.%d.e.%d.w", []int{0}, indexSpan(0, 7)), nameProduct("l.%d.e.%d.w", []int{1}, indexSpan(0, 3))...),
			[]string{"l.0.e.{0..7}.w", "l.1.e.{0..3}.w"}},
		{"one expert in every layer",
			nameProduct("model.layers.%d.experts.%d.w2.weight", indexSpan(0, 55), []int{3}),
			[]string{"model.layers.{0..55}.experts.3.w2.weight"}},
		{"leading zeros and long numbers do not fold",
			[]string{"a.01.w", "a.02.w", "a.1234567890.w", "a.1234567891.w"},
			[]string{"a.01.w", "a.02.w", "a.1234567890.w", "a.1234567891.w"}},
		{"duplicates fold once", []string{"l.0.w", "l.1.w", "l.0.w"}, []string{"l.{0,1}.w"}},
		{"digits inside a component are not indices", []string{"h0.w", "h1.w"}, []string{"h0.w", "h1.w"}},
		{"order of first members",
			[]string{"b.0.w", "a.0.w", "b.1.w", "a.1.w", "c"},
			[]string{"b.{0,1}.w", "a.{0,1}.w", "c"}},
		{"a literal # is not a number", []string{"a.#.w", "a.0.w", "a.1.w"}, []string{"a.#.w", "a.{0,1}.w"}},
		{"whole-name numbers", []string{"0", "1", "2"}, []string{"{0..2}"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FoldPatterns(tt.in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func nameProduct(format string, a, b []int) []string {
	var out []string
	for _, i := range a {
		for _, j := range b {
			out = append(out, fmt.Sprintf(format, i, j))
		}
	}
	return out
}

func TestFoldMembers(t *testing.T) {
	in := []string{"l.2.w", "x", "l.0.w", "l.1.w"}
	got := Fold(in)
	want := []FoldedName{
		{Pattern: "l.{0..2}.w", Names: []string{"l.2.w", "l.0.w", "l.1.w"}, Index: []int{0, 2, 3}},
		{Pattern: "x", Names: []string{"x"}, Index: []int{1}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestFoldWithKey(t *testing.T) {
	in := []string{"l.0.w", "l.1.w", "l.2.w", "l.3.w"}
	shapes := []string{"[2]", "[2]", "[3]", "[2]"}
	got := FoldWith(in, func(i int) string { return shapes[i] })
	var pats []string
	for _, g := range got {
		pats = append(pats, g.Pattern)
	}
	if want := []string{"l.{0,1,3}.w", "l.2.w"}; !reflect.DeepEqual(pats, want) {
		t.Errorf("got %q, want %q", pats, want)
	}
}

func TestFoldDeterministic(t *testing.T) {
	in := append(nameProduct("m.%d.e.%d.w", []int{0, 2, 5}, indexSpan(0, 7)), nameProduct("m.%d.e.%d.w", []int{1}, []int{1, 3})...)
	first := strings.Join(FoldPatterns(in), "\n")
	for range 20 {
		if got := strings.Join(FoldPatterns(in), "\n"); got != first {
			t.Fatalf("Fold is not deterministic:\n%s\nvs\n%s", got, first)
		}
	}
	if first != "m.{0,2,5}.e.{0..7}.w\nm.1.e.{1,3}.w" {
		t.Errorf("got\n%s", first)
	}
}
