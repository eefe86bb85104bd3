package weights

import "fmt"

// Words are how name hints speak of the two sides: weights a port loads
// against a reference (Diff, NameHints), or tensor dumps REF and OURS
// (the tensors report, NameHintsIn with TensorsWords).
type Words struct {
	One, Many string // "1 missing weight is loaded", "%d missing weights are loaded"
	Reference string // "the reference"
	Missing   string // "missing" (before names of the reference side)
	MayBe     string // "may be loaded as"
}

// WeightsWords speak of expected and loaded weights.
func WeightsWords() Words {
	return Words{One: "1 missing weight is loaded", Many: "%d missing weights are loaded",
		Reference: "the reference", Missing: "missing", MayBe: "may be loaded as"}
}

// TensorsWords speak of REF and OURS tensors.
func TensorsWords() Words {
	return Words{One: "1 REF tensor is in OURS", Many: "%d REF tensors are in OURS",
		Reference: "REF", Missing: "REF", MayBe: "may be OURS"}
}

// count is One or Many for n.
func (w Words) count(n int) string {
	if n == 1 {
		return w.One
	}
	return fmt.Sprintf(w.Many, n)
}
