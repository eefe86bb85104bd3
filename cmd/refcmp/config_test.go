package main

import (
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := parseConfig("c.json", []byte(`{"map": ["^a\\.=b."], "ignore": ["*.x"], "tied": {"z": "y", "a": "b"}, "ignore_dtype": true}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.tiedList(), " "); got != "a=b z=y" {
		t.Errorf("tiedList = %q, want sorted NAME=TARGET", got)
	}
	if c.IgnoreDType == nil || !*c.IgnoreDType || len(c.Map) != 1 || c.Map[0] != `^a\.=b.` {
		t.Errorf("parsed %+v", c)
	}
	for _, tc := range []struct{ in, want string }{
		{``, "c.json: empty file, want a JSON object"},
		{`{"mapp": []}`, `c.json: unknown key "mapp" (known keys: `},
		{"{\n  \"map\": [1]\n}", "c.json:2: map: got JSON number, want a string"},
		{"{\n  \"map\": []\n  \"x\": 1}", "c.json:3:3: invalid character"},
		{`{"map": []}{}`, "c.json: unexpected data after the JSON object"},
		{`{"map": [`, "c.json: unexpected end of file"},
		{`[]`, "c.json:1: top level: got JSON array, want an object"},
	} {
		_, err := parseConfig("c.json", []byte(tc.in))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("parseConfig(%q) = %v, want an error starting %q", tc.in, err, tc.want)
		}
	}
}

// FuzzParseConfig: no input panics, and every error names the file.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"map": ["^a=b"], "ignore": ["*.x"], "tied": {"a": "b"}, "ignore_dtype": false}`))
	f.Add([]byte(`{"atol": 1e-5, "rtol": 0, "check": "cosine", "tol": ["a*=1:2"]}`))
	f.Add([]byte("{\n\"map\": [1]}"))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseConfig("c.json", data)
		if err != nil && !strings.HasPrefix(err.Error(), "c.json") {
			t.Errorf("error does not name the file: %v", err)
		}
	})
}
