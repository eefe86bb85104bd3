package tensor

import (
	"cmp"
	"slices"
	"testing"
)

func TestNaturalCompare(t *testing.T) {
	for _, want := range [][]string{
		{"a9", "a10b2", "a10b10", "embed", "layers.1", "layers.1.attn", "layers.02.attn", "layers.2.attn", "layers.2.mlp", "layers.10.mlp", "layers.100.mlp", "norm"},
		{"", "a", "a0", "a01", "a1", "a2", "a10", "a010b", "a10b", "ab", "model-00002-of-00010", "model-9", "model-00010-of-00010"},
	} {
		got := slices.Clone(want)
		slices.Reverse(got)
		slices.SortFunc(got, NaturalCompare)
		if !slices.Equal(got, want) {
			t.Errorf("natural order:\n%q\nwant\n%q", got, want)
		}
		for i, a := range want {
			for j, b := range want {
				if c := NaturalCompare(a, b); c != cmp.Compare(i, j) {
					t.Errorf("NaturalCompare(%q, %q) = %d, want %d", a, b, c, cmp.Compare(i, j))
				}
			}
		}
	}
}
