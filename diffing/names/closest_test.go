package names

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestClosest(t *testing.T) {
	ns := []string{"h.0.ln_1", "h.0.ln_2", "h.0.attn", "h.1.ln_1", "lm_head", "wte"}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"h.0.ln_3", []string{"h.0.ln_1", "h.0.ln_2", "h.1.ln_1"}},
		{"lm_heads", []string{"lm_head"}},
		{"wtf", []string{"wte"}},
		{"completely.different", nil},
		{"h.0.ln_1", []string{"h.0.ln_2", "h.1.ln_1"}}, // itself left out
	} {
		if got := Closest(tc.name, ns, 3); !slices.Equal(got, tc.want) {
			t.Errorf("Closest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		a, b string
		k, d int
		ok   bool
	}{
		{"kitten", "sitting", 3, 3, true},
		{"kitten", "sitting", 2, 0, false},
		{"", "ab", 2, 2, true},
		{"abc", "abc", 1, 0, true},
	} {
		d, ok := EditDistance(tc.a, tc.b, tc.k)
		if ok != tc.ok || ok && d != tc.d {
			t.Errorf("EditDistance(%q, %q, %d) = %d, %v; want %d, %v", tc.a, tc.b, tc.k, d, ok, tc.d, tc.ok)
		}
	}
}

// TestClosestBounded: long names and many candidates stay fast.
func TestClosestBounded(t *testing.T) {
	long := strings.Repeat("layers.0.mlp.", 2000)
	cands := make([]string, 50_000)
	for i := range cands {
		cands[i] = long + string(rune('a'+i%26))
	}
	start := time.Now()
	Closest(long+"zz", cands, 3)
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("Closest took %v", d)
	}
}
