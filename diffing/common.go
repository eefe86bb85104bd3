package diffing

import (
	"fmt"
	"strings"
)

// commonNote says what --common left out: "compared 5 of 31 REF tensors
// (--common); not compared: 26 only in REF (h.1.attn, …), 1 only in OURS
// (extra)".
func commonNote(c Counts, refOnly, oursOnly []string) string {
	var parts []string
	if len(refOnly) > 0 {
		parts = append(parts, fmt.Sprintf("%d only in REF (%s)", len(refOnly), shortList(refOnly, 3)))
	}
	if len(oursOnly) > 0 {
		parts = append(parts, fmt.Sprintf("%d only in OURS (%s)", len(oursOnly), shortList(oursOnly, 3)))
	}
	return fmt.Sprintf("compared %d of %s (--common); not compared: %s",
		c.Compared, plural(c.Compared+len(refOnly), "REF tensor", "REF tensors"), strings.Join(parts, ", "))
}

// shortList writes up to n names, then "…".
func shortList(ns []string, n int) string {
	if len(ns) <= n {
		return strings.Join(ns, ", ")
	}
	return strings.Join(ns[:n], ", ") + ", …"
}
