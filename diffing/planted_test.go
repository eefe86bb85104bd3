package diffing

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refcmp/refcmp/internal/testenv"
	"github.com/refcmp/refcmp/safetensors"
	"github.com/refcmp/refcmp/tensor"
)

// The planted-bug suite (scripts/make_planted.py): realistic porting bugs,
// one per case, and correct ports that differ by float noise only.

type plantedCase struct {
	Name   string         `json:"name"`
	Tensor string         `json:"tensor"`
	Expect string         `json:"expect"`
	About  string         `json:"about"`
	Facts  map[string]any `json:"facts"`
	// Strict: compared again with atol = rtol = 0 when the default
	// tolerance passes (make_planted_unseen.py's noise-sized cases).
	Strict bool `json:"strict"`
}

// plantedPass is the expectation of a port that is bit-identical.
const plantedPass = "pass"

type plantedSuite struct {
	Seed  int           `json:"seed"`
	Size  string        `json:"size"`
	Cases []plantedCase `json:"cases"`
	pairs map[string]tensor.Tensor
}

// loadPlanted reads a suite written by make_planted.py.
func loadPlanted(t testing.TB, dir string) *plantedSuite {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s plantedSuite
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "planted.safetensors")
	f, err := safetensors.ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s.pairs = map[string]tensor.Tensor{}
	for _, e := range f.Tensors {
		s.pairs[e.Name] = tensor.Tensor{Name: e.Name, DType: e.DType, Shape: e.Shape, Data: tensor.MemData(data[e.Begin:e.End])}
	}
	return &s
}

// diagnosePlanted compares a case at the default tolerance; a noise case
// that passes it is compared again with atol = rtol = 0, so that it fails
// and is diagnosed.
func diagnosePlanted(t testing.TB, s *plantedSuite, c plantedCase) Result {
	t.Helper()
	ref, ours := s.pairs[c.Name+"/ref"], s.pairs[c.Name+"/ours"]
	ref.Name, ours.Name = c.Tensor, c.Tensor
	res, err := Compare(ref, ours, DefaultTolerance(ref.DType, ours.DType))
	if err != nil {
		t.Fatal(err)
	}
	if res.Pass {
		if c.Expect != TensorHintNoise && c.Expect != plantedPass && !c.Strict {
			t.Fatalf("%s: planted bug passes the default tolerance", c.Name)
		}
		res, err = Compare(ref, ours, Tolerance{Check: CheckAllClose})
		if err != nil {
			t.Fatal(err)
		}
	}
	return res
}

func hintKinds(hs []TensorHint) string {
	var ks []string
	for _, h := range hs {
		ks = append(ks, h.Kind)
	}
	return strings.Join(ks, ",")
}

func fmtHints(hs []TensorHint) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "\n    %s: %s\n      %s", h.Kind, h.Summary, h.Evidence)
	}
	return b.String()
}

// checkPlanted requires each case's primary hint kind; noise cases must
// carry no cause-naming hint.
func checkPlanted(t *testing.T, s *plantedSuite) {
	for _, c := range s.Cases {
		t.Run(c.Name, func(t *testing.T) {
			res := diagnosePlanted(t, s, c)
			if c.Expect == plantedPass {
				if !res.Pass {
					t.Fatalf("%s (%s): want bit-identical, got [%s]%s", c.Name, c.About, hintKinds(res.Hints), fmtHints(res.Hints))
				}
				return
			}
			if len(res.Hints) == 0 || res.Hints[0].Kind != c.Expect {
				t.Fatalf("%s (%s): primary hint want %s, got [%s]%s", c.Name, c.About, c.Expect, hintKinds(res.Hints), fmtHints(res.Hints))
			}
			if c.Expect == TensorHintNoise {
				for _, h := range res.Hints[1:] {
					if h.Kind != TensorHintTolerance {
						t.Errorf("%s: noise pair carries a cause-naming hint %s: %s", c.Name, h.Kind, h.Summary)
					}
				}
			}
			if testing.Verbose() {
				t.Logf("%s%s", c.Name, fmtHints(res.Hints))
			}
		})
	}
}

func TestPlantedFixtures(t *testing.T) {
	s := loadPlanted(t, filepath.Join("..", "testdata", "planted"))
	if len(s.Cases) < 30 {
		t.Fatalf("%d cases, want >= 30", len(s.Cases))
	}
	checkPlanted(t, s)
}

// TestPlantedOtherShapes runs the suite on cases generated now, with
// other shapes and seeds than the committed fixtures.
func TestPlantedOtherShapes(t *testing.T) {
	py := testenv.Python(t, "numpy", "torch")
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ seed, size string }{
		{"11", "other"}, {"23", "other"}, {"37", "other"}, {"41", "other"}, {"59", "other"}, {"73", "other"},
		{"5", "large"}, {"17", "large"},
	} {
		dir := t.TempDir()
		cmd := exec.Command(py, filepath.Join(root, "scripts", "make_planted.py"), "--out", dir, "--seed", c.seed, "--size", c.size)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make_planted.py: %v\n%s", err, out)
		}
		t.Run(c.size+"-seed"+c.seed, func(t *testing.T) { checkPlanted(t, loadPlanted(t, dir)) })
	}
}

// TestPlantedUnseen runs the cases of scripts/make_planted_unseen.py,
// planted bugs written without looking at the detectors (among them the
// ones refcmp once named a false cause for: a per-row scale called
// F8_E4M3 rounding, a missing residual or a softmax temperature called an
// activation, a missing causal mask, a sliding window called RoPE), on
// the evaluator's seeds and on shifted ones.
func TestPlantedUnseen(t *testing.T) {
	py := testenv.Python(t, "numpy", "torch")
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, seed := range []string{"0", "1000", "3000", "5000"} { // 3000 and 5000 caught a false elementwise
		dir := t.TempDir()
		cmd := exec.Command(py, filepath.Join(root, "scripts", "make_planted_unseen.py"), "--out", dir, "--seed", seed)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make_planted_unseen.py: %v\n%s", err, out)
		}
		t.Run("seed"+seed, func(t *testing.T) {
			s := loadPlanted(t, dir)
			if len(s.Cases) < 50 {
				t.Fatalf("%d cases, want >= 50", len(s.Cases))
			}
			checkPlanted(t, s)
		})
	}
}
