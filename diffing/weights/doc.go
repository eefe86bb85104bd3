// Package weights diffs what a port loads against a reference
// checkpoint, from headers alone: Diff compares two tensor.Listings
// (missing, unexpected, shape and dtype mismatches, --tied pairs,
// collisions) and explains what remains with Hints, each with the --map
// or --tied fix it verified. Its Report is the JSON contract of
// `refcmp weights --format json`; Report.Matched lists the pairs found.
// NameHints gives the name hints alone, for reports that pair names
// themselves (the tensors report).
//
// The hint families live one per file: hints_prefix.go, hints_closest.go
// (renames), hints_fused.go (fused, split, stacked), hints_tied.go,
// hints_shape.go, hints_dtype.go; hints_verify.go checks every suggested
// rule and hints.go runs them in order.
package weights
