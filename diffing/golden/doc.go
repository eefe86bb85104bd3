// Package golden records and checks golden files: per-tensor summaries
// (shape, dtype, statistics, SHA-256, sampled values) of a known-good
// output, for regression tests that keep no full tensors. File is the
// file format (Encode, Parse); Record builds one from tensors; Check and
// CheckTensor compare a current summary with a recorded one under a Mode
// and return a Report, the JSON contract of `refcmp golden check
// --format json`.
package golden
