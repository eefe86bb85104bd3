package gguf

import (
	_ "embed"
	"encoding/json"
)

// qerrorJSON is measured by scripts/make_qerror.py with ggml's own
// quantizer (ggml_quantize_chunk, no importance matrix) on weight-like
// data; regenerate it with that script when the pinned ggml changes.
//
//go:embed qerror.json
var qerrorJSON []byte

// QuantError is what quantizing weight-like data to one type costs, as
// NMSE = Σ(x - deq(quant(x)))² / Σx², over the measured samples.
type QuantError struct {
	Min, Median, Max float64
	Samples          int
}

// QuantErrorOf returns the measured NMSE band of type t; false for types
// that were not measured (F32, integer and undecodable types).
func QuantErrorOf(t Type) (QuantError, bool) {
	var doc struct {
		Types map[string]struct {
			Min     float64 `json:"min"`
			Median  float64 `json:"median"`
			Max     float64 `json:"max"`
			Samples int     `json:"samples"`
		} `json:"types"`
	}
	if err := json.Unmarshal(qerrorJSON, &doc); err != nil {
		return QuantError{}, false
	}
	q, ok := doc.Types[t.String()]
	if !ok {
		return QuantError{}, false
	}
	return QuantError{Min: q.Min, Median: q.Median, Max: q.Max, Samples: q.Samples}, true
}

// ExpectedNMSE is the typical (median) NMSE quantization to t costs on
// weight-like data, so a comparison can say "this Q4_K tensor is 40×
// worse than Q4_K quantization explains". False for unmeasured types.
func ExpectedNMSE(t Type) (float64, bool) {
	q, ok := QuantErrorOf(t)
	return q.Median, ok
}
