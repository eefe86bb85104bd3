// Package names holds what refcmp does with tensor names: the --map,
// --ignore and --tied rules (ParseNameRules, NameRules.Map), folding of
// layer indices for display (Fold: layers.{0..31}.mlp.up_proj.weight),
// ordering by a list (SortByList; names it leaves out come in
// tensor.NaturalCompare's order, layers.2 before layers.10) and POSIX
// shell quoting of suggested fixes (Quote, QuoteWords).
package names
