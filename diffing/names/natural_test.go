package names

import (
	"slices"
	"testing"
)

func TestNaturalLess(t *testing.T) {
	ns := []string{"layers.10.mlp", "layers.2.mlp", "layers.1.attn", "embed", "layers.2.attn", "layers.02.attn", "layers.1", "norm", "layers.100.mlp", "a10b2", "a10b10", "a9"}
	slices.SortFunc(ns, func(a, b string) int {
		if NaturalLess(a, b) {
			return -1
		}
		if NaturalLess(b, a) {
			return 1
		}
		return 0
	})
	want := []string{"a9", "a10b2", "a10b10", "embed", "layers.1", "layers.1.attn", "layers.02.attn", "layers.2.attn", "layers.2.mlp", "layers.10.mlp", "layers.100.mlp", "norm"}
	if !slices.Equal(ns, want) {
		t.Errorf("natural order:\n%q\nwant\n%q", ns, want)
	}
	for _, p := range [][2]string{{"a", "a"}, {"x1", "x1"}} {
		if NaturalLess(p[0], p[1]) {
			t.Errorf("%q < %q", p[0], p[1])
		}
	}
}
