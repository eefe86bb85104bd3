package main

import (
	"io"

	"github.com/refcmp/refcmp/diffing"
)

// JSON renderers: the stable contract, documented in README.md. Each
// writes the command's report struct as it is, with writeJSON's fixed
// layout (2-space indent, trailing newline), so the same inputs give the
// same bytes.

// renderWeightsJSON writes a diffing.WeightsReport.
func renderWeightsJSON(w io.Writer, r diffing.WeightsReport) error {
	return writeJSON(w, r)
}
