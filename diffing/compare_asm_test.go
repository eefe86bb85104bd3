package diffing

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/refcmp/refcmp/tensor"
)

// TestKernelsAgree checks the assembly kernels (where the CPU has them)
// against the portable kernel on every dtype pair they cover: counts and
// extremes exactly, sums within 1e-12 relative.
func TestKernelsAgree(t *testing.T) {
	dts := []tensor.DType{tensor.F64, tensor.F32, tensor.BF16, tensor.F16, tensor.F8E4M3, tensor.I32}
	if asmKernel(tensor.F32, tensor.F32) == 0 {
		t.Skip("no assembly kernels here (not amd64, the purego build tag, or a CPU without AVX2/FMA/F16C): nothing to check the portable kernel against")
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 7, 1024, 70_001} {
		a := make([]float64, n)
		b := make([]float64, n)
		for i := range a {
			a[i] = 3 + r.NormFloat64()
			b[i] = a[i] * (1 + 1e-3*r.NormFloat64())
			if r.IntN(5000) == 0 {
				b[i] = math.Inf(1)
			}
			if r.IntN(7) == 0 {
				a[i], b[i] = 0, 0
			}
		}
		for _, rdt := range dts {
			for _, odt := range dts {
				ref := mkTensor(t, "r", rdt, []int64{int64(n)}, a)
				ours := mkTensor(t, "o", odt, []int64{int64(n)}, b)
				tol := DefaultTolerance(rdt, odt)
				fast, err := CompareWith(ref, ours, tol, Options{Workers: 2})
				if err != nil {
					t.Fatal(err)
				}
				slow, err := CompareWith(ref, ours, tol, Options{Workers: 2, pureGo: true})
				if err != nil {
					t.Fatal(err)
				}
				sameResult(t, rdt.String()+" vs "+odt.String(), fast, slow)
			}
		}
	}
}

func sameResult(t *testing.T, what string, a, b Result) {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	var ma, mb map[string]any
	json.Unmarshal(ja, &ma)
	json.Unmarshal(jb, &mb)
	var walk func(path string, x, y any)
	walk = func(path string, x, y any) {
		switch xv := x.(type) {
		case map[string]any:
			yv, _ := y.(map[string]any)
			for k := range xv {
				walk(path+"."+k, xv[k], yv[k])
			}
		case []any:
			yv, _ := y.([]any)
			if len(xv) != len(yv) {
				t.Errorf("%s %s: %v vs %v", what, path, x, y)
				return
			}
			for i := range xv {
				walk(path, xv[i], yv[i])
			}
		case float64:
			yv, ok := y.(float64)
			if !ok || !near(xv, yv, 1e-12) && math.Abs(xv-yv) > 1e-300 {
				t.Errorf("%s %s: %v vs %v", what, path, x, y)
			}
		default:
			if x != y {
				t.Errorf("%s %s: %v vs %v", what, path, x, y)
			}
		}
	}
	walk("", ma, mb)
}
