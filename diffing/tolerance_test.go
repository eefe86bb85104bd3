package diffing

import (
	"math"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

func TestDefaultTolerance(t *testing.T) {
	cases := []struct {
		ref, ours  tensor.DType
		rtol, atol float64
	}{
		{tensor.F32, tensor.F32, 1.3e-6, 1e-5},
		{tensor.F16, tensor.F16, 1e-3, 1e-5},
		{tensor.BF16, tensor.BF16, 1.6e-2, 1e-5},
		{tensor.F64, tensor.F64, 1e-7, 1e-7},
		{tensor.F32, tensor.BF16, 1.6e-2, 1e-5},
		{tensor.F64, tensor.F32, 1.3e-6, 1e-5},
		{tensor.F16, tensor.F64, 1e-3, 1e-5},
		{tensor.F8E4M3, tensor.F32, 0.125, 0x1p-9},
		{tensor.F32, tensor.F8E5M2, 0.25, 0x1p-16},
		{tensor.I64, tensor.I64, 0, 0},
		{tensor.Bool, tensor.Bool, 0, 0},
		{tensor.I32, tensor.F32, 1.3e-6, 1e-5},
	}
	for _, c := range cases {
		got := DefaultTolerance(c.ref, c.ours)
		if got.Rtol != c.rtol || got.Atol != c.atol || got.Check != CheckAllClose {
			t.Errorf("DefaultTolerance(%v, %v) = %+v, want rtol %v atol %v", c.ref, c.ours, got, c.rtol, c.atol)
		}
	}
}

func TestToleranceValidate(t *testing.T) {
	good := []Tolerance{{}, {Atol: 1, Rtol: 0}, {Check: CheckCosine, Threshold: 0.99}, {Check: CheckNMSE, Threshold: 1e-3}, {Check: CheckMaxAbs, Atol: 0.5}}
	for _, tol := range good {
		if err := tol.Validate(); err != nil {
			t.Errorf("%+v: %v", tol, err)
		}
	}
	bad := []Tolerance{{Atol: -1e-9}, {Rtol: -1}, {Atol: math.NaN()}, {Rtol: math.Inf(1)}, {Check: "fuzzy"},
		{Check: CheckCosine, Threshold: math.NaN()}, {Check: CheckCosine, Threshold: 1.5}, {Check: CheckNMSE, Threshold: -1}}
	for _, tol := range bad {
		if err := tol.Validate(); err == nil {
			t.Errorf("%+v accepted", tol)
		}
	}
}

func TestToleranceRules(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	yes := true
	rs := ToleranceRules{
		Base: ToleranceSpec{Rtol: f(1e-4)},
		Rules: []ToleranceRule{
			{Pattern: "layers.*.attn.*", ToleranceSpec: ToleranceSpec{Atol: f(1e-3)}},
			{Pattern: "layers.1.attn.q", ToleranceSpec: ToleranceSpec{Check: CheckCosine}},
			{Pattern: "*.embed", ToleranceSpec: ToleranceSpec{Exact: &yes}},
		},
	}
	if err := rs.Validate(); err != nil {
		t.Fatal(err)
	}
	f32 := tensor.F32
	cases := []struct {
		name string
		want Tolerance
	}{
		{"other", Tolerance{Check: CheckAllClose, Rtol: 1e-4, Atol: 1e-5}},
		{"layers.10.attn.k", Tolerance{Check: CheckAllClose, Rtol: 1e-4, Atol: 1e-3}},
		{"layers.1.attn.q", Tolerance{Check: CheckCosine, Rtol: 1e-4, Atol: 1e-3, Threshold: DefaultCosineThreshold}},
		{"model.embed", Tolerance{Check: CheckAllClose, Rtol: 1e-4, Atol: 1e-5, Exact: true}},
	}
	for _, c := range cases {
		if got := rs.Resolve(c.name, f32, f32); got != c.want {
			t.Errorf("Resolve(%q) = %+v, want %+v", c.name, got, c.want)
		}
	}
	for _, bad := range []ToleranceRules{
		{Rules: []ToleranceRule{{Pattern: "[", ToleranceSpec: ToleranceSpec{}}}},
		{Rules: []ToleranceRule{{Pattern: "x", ToleranceSpec: ToleranceSpec{Atol: f(-1)}}}},
		{Base: ToleranceSpec{Check: "bogus"}},
		{Rules: []ToleranceRule{{Pattern: ""}}},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}
