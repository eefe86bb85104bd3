package names

import (
	"regexp"
	"strings"
	"testing"
)

func TestParseMap(t *testing.T) {
	tests := []struct {
		in, name, want string
	}{
		{`^model\.=`, "model.layers.0.w", "layers.0.w"},
		{`^=model.`, "layers.0.w", "model.layers.0.w"},
		{`\.attention\.wq\.=.self_attn.q_proj.`, "layers.0.attention.wq.weight", "layers.0.self_attn.q_proj.weight"},
		{`^h\.(\d+)\.=model.layers.${1}.`, "h.12.attn", "model.layers.12.attn"},
		{`^(?P<n>\w+)_w$=$n.weight`, "fc_w", "fc.weight"},
		{`a\=b=c`, "xa=by", "xcy"},     // \= matches '=' and does not split
		{`cost=$$`, "cost", "$"},       // $$ is a literal $
		{`x=a=b`, "x", "a=b"},          // the replacement may hold '='
		{`weight$=`, "a.weight", "a."}, // empty replacement deletes
	}
	for _, tt := range tests {
		m, err := ParseMap(tt.in)
		if err != nil {
			t.Errorf("ParseMap(%q): %v", tt.in, err)
			continue
		}
		if got := ApplyMaps([]MapRule{m}, tt.name); got != tt.want {
			t.Errorf("%q on %q = %q, want %q", tt.in, tt.name, got, tt.want)
		}
		if m.String() != tt.in {
			t.Errorf("String() = %q, want %q", m.String(), tt.in)
		}
	}
}

func TestParseMapErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{`model.`, `--map "model.": no '='`},
		{`=x`, `empty regexp`},
		{`(=x`, `missing closing )`},
		{`(a)=$2`, `no such group`},
		{`(a)=$1x`, `$1x`},
		{`(a)=${1`, `unclosed ${`},
	}
	for _, tt := range tests {
		_, err := ParseMap(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseMap(%q) error %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestMapRuleStringEscapesEquals(t *testing.T) {
	// A rule built in code with '=' in its pattern prints so that it parses back.
	m := MapRule{Pattern: mustRegexp(t, `^a=b\.`), Replacement: "c."}
	back, err := ParseMap(m.String())
	if err != nil {
		t.Fatal(err)
	}
	if got := ApplyMaps([]MapRule{back}, "a=b.x"); got != "c.x" {
		t.Errorf("round trip of %q gives %q", m.String(), got)
	}
}

func TestParseIgnore(t *testing.T) {
	tests := []struct {
		glob, name string
		want       bool
	}{
		{"*.inv_freq", "model.layers.0.self_attn.rotary_emb.inv_freq", true},
		{"*.inv_freq", "inv_freq", false},
		{"*inv_freq", "inv_freq", true},
		{"model.layers.*.mlp.*", "model.layers.10.mlp.up.weight", true},
		{"model.layers.?.mlp.*", "model.layers.10.mlp.up.weight", false},
		{"model.layers.?.mlp.*", "model.layers.1.mlp.up.weight", true},
		{"lm_head.weight", "lm_head.weight", true},
		{"lm_head.weight", "lm_headxweight", false}, // '.' is literal
		{"lm_head", "lm_head.weight", false},        // whole name
		{"*.[qk]_proj.*", "a.q_proj.weight", true},
		{"*.[qk]_proj.*", "a.v_proj.weight", false},
		{"*.[!qk]_proj.*", "a.v_proj.weight", true},
		{"*.[a-c]", "x.b", true},
		{`a\*b`, "a*b", true},
		{`a\*b`, "axb", false},
		{"enc/*", "enc/layer_0/kernel:0", true}, // '*' spans '/'
		{"*[]]", "a]", true},
	}
	for _, tt := range tests {
		g, err := ParseIgnore(tt.glob)
		if err != nil {
			t.Errorf("ParseIgnore(%q): %v", tt.glob, err)
			continue
		}
		if got := g.Match(tt.name); got != tt.want {
			t.Errorf("%q matches %q = %v, want %v", tt.glob, tt.name, got, tt.want)
		}
	}
	for _, bad := range []string{"", "a[b", `a\`, "[]"} {
		if _, err := ParseIgnore(bad); err == nil {
			t.Errorf("ParseIgnore(%q): no error", bad)
		}
	}
}

func TestParseTied(t *testing.T) {
	p, err := ParseTied("lm_head.weight=model.embed_tokens.weight")
	if err != nil || p.Name != "lm_head.weight" || p.Other != "model.embed_tokens.weight" {
		t.Fatalf("%+v, %v", p, err)
	}
	for _, bad := range []string{"lm_head.weight", "=a", "a=", "a=a"} {
		if _, err := ParseTied(bad); err == nil || !strings.Contains(err.Error(), "--tied") {
			t.Errorf("ParseTied(%q): error %v", bad, err)
		}
	}
}

func TestNameRulesMap(t *testing.T) {
	r, err := ParseNameRules([]string{`^transformer\.=model.`, `\.h\.=.layers.`}, []string{"*.inv_freq", "model.layers.*.attn.bias"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, mapped string
		ignored    bool
	}{
		{"transformer.h.0.mlp.weight", "model.layers.0.mlp.weight", false}, // rules apply in order
		{"transformer.h.0.rotary.inv_freq", "model.layers.0.rotary.inv_freq", true},
		{"transformer.h.3.attn.bias", "model.layers.3.attn.bias", true}, // ignored by its mapped name
		{"model.layers.3.attn.bias", "model.layers.3.attn.bias", true},  // by its own name
		{"lm_head.weight", "lm_head.weight", false},
	}
	for _, tt := range tests {
		m, ign := r.Map(tt.in)
		if m != tt.mapped || ign != tt.ignored {
			t.Errorf("Map(%q) = %q, %v; want %q, %v", tt.in, m, ign, tt.mapped, tt.ignored)
		}
	}
	if _, err := ParseNameRules([]string{"x"}, nil); err == nil {
		t.Error("bad --map accepted")
	}
	if _, err := ParseNameRules(nil, []string{"[x"}); err == nil {
		t.Error("bad --ignore accepted")
	}
	if _, err := ParseTied("x"); err == nil {
		t.Error("bad --tied accepted")
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{
		"lm_head.weight=model.embed_tokens.weight": "'lm_head.weight=model.embed_tokens.weight'",
		`^model\.=`: `'^model\.='`,
		"a'b":       `'a'\''b'`,
		"plain":     "plain",
		"":          "''",
	} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %s, want %s", in, got, want)
		}
	}
}

func mustRegexp(t *testing.T, s string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

func FuzzParseIgnore(f *testing.F) {
	for _, s := range []string{"*.inv_freq", "model.layers.?.mlp.*", "*.[!qk]_proj.*", `a\*b`, "[]]", "[!]a]", "a[", `\`, "[a-"} {
		f.Add(s, "model.layers.0.self_attn.rotary_emb.inv_freq")
	}
	f.Fuzz(func(t *testing.T, glob, name string) {
		g, err := ParseIgnore(glob)
		if err != nil {
			return
		}
		g.Match(name)
		// A pattern without special characters matches exactly itself.
		if !strings.ContainsAny(glob, `*?[\`) && (!g.Match(glob) || g.Match(glob+"x")) {
			t.Fatalf("literal %q does not match only itself", glob)
		}
	})
}

func FuzzParseMap(f *testing.F) {
	for _, s := range []string{`^model\.=`, `^=model.`, `a\=b=c`, `(a)=$1`, `(?P<n>x)=${n}`, `x=$`, `(=`, `=`} {
		f.Add(s, "model.layers.0.w")
	}
	f.Fuzz(func(t *testing.T, spec, name string) {
		m, err := ParseMap(spec)
		if err != nil {
			return
		}
		ApplyMaps([]MapRule{m}, name)
		back, err := ParseMap(m.String())
		if err != nil {
			t.Fatalf("String() %q of %q does not parse: %v", m.String(), spec, err)
		}
		if back.Pattern.String() != m.Pattern.String() || back.Replacement != m.Replacement {
			t.Fatalf("round trip of %q: %q", spec, m.String())
		}
	})
}

// TestQuoteWords: a command line for the issues log. "=" is quoted, as
// Quote does for every --map and --tied fix (the CLI's own quoting left it
// bare until both became one).
func TestQuoteWords(t *testing.T) {
	got := QuoteWords([]string{"refcmp", "tensors", "--map", `^model\.=`, "a b.npy", "it's", "", "x.npz:y", "--tol=lm_head=1e-3:1e-2"})
	want := `refcmp tensors --map '^model\.=' 'a b.npy' 'it'\''s' '' x.npz:y '--tol=lm_head=1e-3:1e-2'`
	if got != want {
		t.Errorf("QuoteWords:\n got %s\nwant %s", got, want)
	}
}
