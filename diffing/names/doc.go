// Package names holds what refcmp does with tensor names: the --map,
// --ignore and --tied rules (ParseNameRules, NameRules.Map), folding of
// layer indices for display (Fold: layers.{0..31}.mlp.up_proj.weight),
// natural order (NaturalLess, Compare, SortByList: layers.2 before
// layers.10) and POSIX shell quoting of suggested fixes (Quote,
// QuoteWords).
package names
