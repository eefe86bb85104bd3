package diffing

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/diffing/names"
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

// unusedPatterns warns of --ignore and --tol globs that match no name
// (REF names, and OURS names as given and mapped, for --ignore; REF
// names for --tol, which match REF names), with the closest names.
func unusedPatterns(ref, ours *Input, rules names.NameRules, tol ToleranceRules) []string {
	var refNames, all []string
	for _, t := range ref.Tensors {
		refNames = append(refNames, t.Name)
	}
	all = append(all, refNames...)
	for _, t := range ours.Tensors {
		all = append(all, t.Name)
		if m := names.ApplyMaps(rules.Maps, t.Name); m != t.Name {
			all = append(all, m)
		}
	}
	var out []string
	for _, g := range rules.Ignore {
		if !slices.ContainsFunc(all, g.Match) {
			out = append(out, "warning: --ignore "+quoteGlob(g.Source)+" matches no name"+didYouMean(g.Source, all))
		}
	}
	for _, r := range tol.Rules {
		if !slices.ContainsFunc(refNames, func(n string) bool { ok, _ := path.Match(r.Pattern, n); return ok }) {
			out = append(out, "warning: --tol "+quoteGlob(r.Pattern)+" matches no REF name"+didYouMean(r.Pattern, refNames))
		}
	}
	return out
}

// didYouMean is "; did you mean "x"?" for the closest name, or "".
func didYouMean(s string, ns []string) string {
	if c := names.Closest(s, ns, 1); len(c) > 0 {
		return fmt.Sprintf("; did you mean %q?", c[0])
	}
	return ""
}

// quoteGlob writes a glob as a shell word.
func quoteGlob(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
