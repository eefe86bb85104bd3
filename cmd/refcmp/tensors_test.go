package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/testenv"
)

func TestParseTolRule(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, c := range []struct {
		in   string
		want diffing.ToleranceRule
	}{
		{"layers.*.attn.*=1e-4:1e-3", diffing.ToleranceRule{Pattern: "layers.*.attn.*", ToleranceSpec: diffing.ToleranceSpec{Atol: f(1e-4), Rtol: f(1e-3)}}},
		{"x=1e-4:", diffing.ToleranceRule{Pattern: "x", ToleranceSpec: diffing.ToleranceSpec{Atol: f(1e-4)}}},
		{"x=:0", diffing.ToleranceRule{Pattern: "x", ToleranceSpec: diffing.ToleranceSpec{Rtol: f(0)}}},
		{"x=exact", diffing.ToleranceRule{Pattern: "x", ToleranceSpec: diffing.ToleranceSpec{Exact: ptr(true)}}},
		{"x=cosine:0.99", diffing.ToleranceRule{Pattern: "x", ToleranceSpec: diffing.ToleranceSpec{Check: diffing.CheckCosine, Threshold: f(0.99)}}},
		{"x=cosine", diffing.ToleranceRule{Pattern: "x", ToleranceSpec: diffing.ToleranceSpec{Check: diffing.CheckCosine}}},
		{"x=nmse:1e-3", diffing.ToleranceRule{Pattern: "x", ToleranceSpec: diffing.ToleranceSpec{Check: diffing.CheckNMSE, Threshold: f(1e-3)}}},
		{"x=max-abs:1e-4", diffing.ToleranceRule{Pattern: "x", ToleranceSpec: diffing.ToleranceSpec{Check: diffing.CheckMaxAbs, Atol: f(1e-4)}}},
		{"x=allclose:1e-4:1e-3", diffing.ToleranceRule{Pattern: "x", ToleranceSpec: diffing.ToleranceSpec{Check: diffing.CheckAllClose, Atol: f(1e-4), Rtol: f(1e-3)}}},
		{" a/b = 0 : 0 ", diffing.ToleranceRule{Pattern: "a/b", ToleranceSpec: diffing.ToleranceSpec{Atol: f(0), Rtol: f(0)}}},
	} {
		got, err := parseTolRule(c.in)
		if err != nil {
			t.Errorf("parseTolRule(%q): %v", c.in, err)
			continue
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(c.want)
		if string(gj) != string(wj) {
			t.Errorf("parseTolRule(%q) = %s, want %s", c.in, gj, wj)
		}
	}
	for _, in := range []string{"", "x", "=1:1", "x=", "x=1e-3", "x=:", "x=a:1", "x=-1:0", "x=0:-1", "x=NaN:0", "x=Inf:0", "x=exact:1", "x=cosine:z", "x=1:2:3"} {
		if r, err := parseTolRule(in); err == nil {
			t.Errorf("parseTolRule(%q) = %+v, want an error", in, r)
		} else if !strings.HasPrefix(err.Error(), "--tol ") {
			t.Errorf("parseTolRule(%q): error %q does not name the flag", in, err)
		}
	}
}

func TestParseShape(t *testing.T) {
	for in, want := range map[string][]int64{
		"1,8,32": {1, 8, 32}, "[1, 8, 32]": {1, 8, 32}, "(4,)": {4}, "4": {4},
		"[]": {}, "scalar": {}, "()": {}, "0,3": {0, 3},
	} {
		got, err := parseShape(in)
		if err != nil || !slices.Equal(got, want) || got == nil {
			t.Errorf("parseShape(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"2,x", "-1", "1.5", "1x8", "[1,,]a", "1,,2", ",1", "1,2,,", "(,)"} {
		if got, err := parseShape(in); err == nil {
			t.Errorf("parseShape(%q) = %v, want an error", in, got)
		}
	}
}

// TestProgress checks that the bar is drawn only on a terminal and only
// for long work.
func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	a := &app{stdout: &buf, stderr: &buf, getenv: func(string) string { return "" }}
	p := newProgress(a, progressAuto, 1<<40)
	p.set(1 << 39)
	p.finish()
	if p.enabled || buf.Len() > 0 {
		t.Errorf("progress on a non-terminal: enabled %v, wrote %q", p.enabled, buf.String())
	}
	// As if on a terminal: a short job draws nothing ...
	p = &progress{enabled: true, a: a, total: 1 << 20, start: time.Now()}
	p.set(1 << 19)
	if buf.Len() > 0 {
		t.Errorf("progress for 1 MiB wrote %q", buf.String())
	}
	// ... a big one does, and clears it at the end.
	p = &progress{enabled: true, a: a, total: 1 << 30, start: time.Now()}
	p.set(1 << 29)
	if !strings.Contains(buf.String(), "comparing") {
		t.Errorf("progress for 1 GiB wrote %q", buf.String())
	}
	p.finish()
	var nilp *progress
	nilp.set(1)
	nilp.finish()
}

// TestTensorsDeterministic runs the worked example with one and with
// several threads: the JSON report is the same bytes.
func TestTensorsDeterministic(t *testing.T) {
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "testdata", "porting")
	args := []string{"tensors", "--format", "json",
		filepath.Join(dir, "ref_activations.safetensors"), filepath.Join(dir, "port_activations.safetensors")}
	runOnce := func(procs int) []byte {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitDiff || stderr.Len() > 0 {
			t.Fatalf("exit %d, stderr %q", code, stderr.String())
		}
		return stdout.Bytes()
	}
	one, many := runOnce(1), runOnce(4)
	if !bytes.Equal(one, many) {
		t.Errorf("JSON differs between GOMAXPROCS=1 and 4")
	}
	var rep struct {
		Pass         bool    `json:"pass"`
		FirstFailure *string `json:"first_failure"`
		Sequence     struct {
			Order   string `json:"order"`
			Profile string `json:"profile"`
			Step    int    `json:"step"`
		} `json:"sequence"`
	}
	if err := json.Unmarshal(one, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Pass || rep.FirstFailure == nil || *rep.FirstFailure != "layers.0.self_attn.scores" ||
		rep.Sequence.Order != diffing.OrderMetadata || rep.Sequence.Profile != "jump" || rep.Sequence.Step != 5 {
		t.Errorf("report: %+v", rep)
	}
}
