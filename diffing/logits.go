package diffing

import (
	"fmt"
	"math"
	"path"
	"strings"
)

// logitsBands are llama.cpp's NMSE bands for logits, from
// examples/model-conversion/scripts/utils/check-nmse.py (interpret_nmse;
// its PASS is NMSE < 1e-2): the first band whose bound NMSE is under
// names it. NMSE = mean((ours - ref)^2) / var(ref).
var logitsBands = []struct {
	below float64
	name  string
}{
	{1e-6, "essentially identical"},
	{1e-4, "excellent"},
	{1e-3, "very good"},
	{1e-2, "good"},
	{0.1, "acceptable"},
	{1, "poor"},
}

// LogitsBand names an NMSE by llama.cpp's logits bands ("excellent"),
// "very poor" at 1 and above.
func LogitsBand(nmse float64) string {
	for _, b := range logitsBands {
		if nmse < b.below {
			return b.name
		}
	}
	return "very poor"
}

// isLogits reports whether a tensor is named like logits (its last name
// part, or file name, is or starts with "logits").
func isLogits(name string) bool {
	base := strings.ToLower(path.Base(strings.ReplaceAll(name, ".", "/")))
	return strings.HasPrefix(base, "logits") || strings.HasPrefix(strings.ToLower(path.Base(name)), "logits")
}

// logitsNote adds the llama.cpp band of a logits pair's NMSE: of every
// pair when force is set, else of pairs named like logits.
func logitsNote(res *Result, force bool) {
	if !force && !isLogits(res.Name) || res.ShapeMismatch || math.IsNaN(float64(res.NMSE)) {
		return
	}
	res.Notes = append(res.Notes, fmt.Sprintf("logits NMSE %.3g: %s by llama.cpp's bands (<1e-6 essentially identical, <1e-4 excellent, <1e-3 very good, <1e-2 good, <0.1 acceptable, <1 poor)",
		float64(res.NMSE), LogitsBand(float64(res.NMSE))))
}
