package names

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestHostileMapGrowth: --map rules that double a name, repeated, grow
// it exponentially (2^40 bytes after 40 rules). Each rule's result is
// capped; the error names the rule; time and memory stay bounded.
func TestHostileMapGrowth(t *testing.T) {
	var maps []string
	for range 40 {
		maps = append(maps, `(.)=$1$1`)
	}
	maps = append(maps, `x=`+strings.Repeat("$0", 60_000))
	rules, err := ParseNameRules(maps, nil)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 60_000)
	for _, tc := range []struct {
		rules NameRules
		names []string
		want  string
	}{
		{rules, []string{"ok", "layers.0.weight"}, `--map "(.)=$1$1" makes a name of 131072 bytes from "oooooooo`},
		// One rule of 60,000 references to the match over a 60,000-byte
		// name: up to 3.6 GB before the length could be checked.
		{NameRules{Maps: rules.Maps[40:]}, []string{long}, `the result could be over 67108864 bytes`},
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		err := tc.rules.CheckMaps(tc.names)
		el := time.Since(start)
		runtime.ReadMemStats(&after)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
		if el > 30*time.Second {
			t.Errorf("took %v", el)
		}
		if a := after.TotalAlloc - before.TotalAlloc; a > 256<<20 {
			t.Errorf("allocated %d MB", a>>20)
		}
		// ApplyMaps stops at the rule that fails, in bounded time.
		start = time.Now()
		for _, n := range tc.names {
			if got := ApplyMaps(tc.rules.Maps, n); len(got) > MaxMappedName {
				t.Errorf("ApplyMaps made %d bytes", len(got))
			}
		}
		if el := time.Since(start); el > 30*time.Second {
			t.Errorf("ApplyMaps took %v", el)
		}
	}
}

// TestHostileMapTotal: a rule that adds 60,000 bytes to each of 10,000
// names stays under the per-name limit but not under the total.
func TestHostileMapTotal(t *testing.T) {
	rules, err := ParseNameRules([]string{`^=` + strings.Repeat("p", 60_000)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ns []string
	for i := range 10_000 {
		ns = append(ns, fmt.Sprintf("w%d", i))
	}
	err = rules.CheckMaps(ns)
	if err == nil || !strings.Contains(err.Error(), "the rules make names longer by over 268435456 bytes in all") {
		t.Errorf("error %v", err)
	}
}

// TestMapApplyUnchanged: Apply is ReplaceAllString on ordinary rules,
// and on long names a rule does not match.
func TestMapApplyUnchanged(t *testing.T) {
	long := strings.Repeat("a.", 40_000)
	for _, tc := range []struct{ rule, name string }{
		{`^model\.=`, "model.layers.0.weight"},
		{`\.attn\.=.self_attn.`, "layers.0.attn.q.weight"},
		{`(\d+)=<$1>`, "a.1.b.22"},
		{`x*=-`, "abc"},
		{`^zzz=` + strings.Repeat("q", 100), long},
		{`a=b`, long},
	} {
		m, err := ParseMap(tc.rule)
		if err != nil {
			t.Fatal(err)
		}
		want := m.Pattern.ReplaceAllString(tc.name, m.Replacement)
		got, err := m.Apply(tc.name)
		if err != nil || got != want {
			t.Errorf("%s on %.20q: %.20q, %v; want %.20q", tc.rule, tc.name, got, err, want)
		}
	}
}

// FuzzMapApply: a --map rule applied to a name never panics, gives
// ReplaceAllString's result or an error naming the rule, and never makes
// a name longer than MaxMappedName (or the name, when that is longer).
func FuzzMapApply(f *testing.F) {
	f.Add(`(.)=$1$1`, "layers.0.weight")
	f.Add(`^model\.=`, "model.layers.0.weight")
	f.Add(`x*=-`, "abc")
	f.Add(`.=$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0`, strings.Repeat("a", 5000))
	f.Fuzz(func(t *testing.T, rule, name string) {
		m, err := ParseMap(rule)
		if err != nil {
			return
		}
		out, err := m.Apply(name)
		if err != nil {
			if !strings.Contains(err.Error(), "--map ") {
				t.Fatalf("error without the rule: %v", err)
			}
			return
		}
		if len(out) > max(MaxMappedName, len(name)) {
			t.Fatalf("%d bytes from %d", len(out), len(name))
		}
		if want := m.Pattern.ReplaceAllString(name, m.Replacement); out != want {
			t.Fatalf("Apply %q, ReplaceAllString %q", out, want)
		}
	})
}
