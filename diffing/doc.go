// Package diffing compares tensors numerically. One pair: Compare,
// CompareWith, and the slice API (CompareSlice, SliceTensor, HalfTensor)
// return a Result with both sides' statistics, the difference statistics
// under a Tolerance (|ours - ref| <= atol + rtol * |ref|, or max-abs,
// cosine, nmse) and, for a failing pair, TensorHints that say why it
// differs. Many pairs: CompareAll pairs two inputs by name, orders them
// by execution order and returns a Report, the JSON contract of
// `refcmp tensors --format json`, with the error profile along the
// sequence (AnalyzeSequence). Summarize reads one tensor's statistics.
//
// It takes plain data in and returns plain data out; rendering (text,
// JSON, Markdown, JUnit) lives in cmd/refcmp. The header-level weights
// diff is in diffing/weights, golden records in diffing/golden, name
// rules in diffing/names, natural order in tensor (NaturalCompare).
package diffing
