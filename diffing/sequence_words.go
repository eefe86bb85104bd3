package diffing

import (
	"fmt"
	"math"
)

// Words of the sequence evidence for numbers near the edges: levels
// written as values (not "1e-0.0"), a negative rise as a fall, and the
// steps before the first failure counted in words.

// levelText writes a log10 level as the value it stands for:
// "max|diff| 0.5" for -0.301, "max|diff| 1e-07" for -7.
func levelText(lv float64) string {
	return "max|diff| " + FormatStat(math.Pow(10, lv))
}

// riseText writes a change of level in decades: "rise 0.2 decades",
// "fall 7.2 decades", "no change" when it rounds to 0.0.
func riseText(r float64) string {
	switch s := fmt.Sprintf("%.1f", math.Abs(r)); {
	case s == "0.0":
		return "no change"
	case s == "1.0" && r > 0:
		return "rise 1.0 decade"
	case s == "1.0":
		return "fall 1.0 decade"
	case r > 0:
		return "rise " + s + " decades"
	default:
		return "fall " + s + " decades"
	}
}

// passedBefore says which steps before step f passed: "the first step",
// "step 0 before it passes", "all 5 steps before it pass".
func passedBefore(f int) string {
	switch f {
	case 0:
		return "it is the first step"
	case 1:
		return "the one step before it passes"
	}
	return fmt.Sprintf("all %d steps before it pass", f)
}
