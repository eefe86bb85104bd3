package main

import "strings"

// logitsHelp documents --logits of refcmp tensors.
const logitsHelp = `logits comparison, as llama.cpp's examples/model-conversion check-nmse.py does it: ` +
	`pass when NMSE = mean((ours-ref)^2)/var(ref) <= --threshold (default 0.01; --check overrides), ` +
	`and name every pair's NMSE by llama.cpp's bands (<1e-6 essentially identical, <1e-4 excellent, ` +
	`<1e-3 very good, <1e-2 good, <0.1 acceptable, <1 poor, else very poor)`

// logitsNotes are the llama.cpp-band notes of passing pairs under
// --logits, named by pair.
func (v tensorsView) logitsNotes() []string {
	if !v.Logits {
		return nil
	}
	var out []string
	for _, t := range v.Report.Tensors {
		if !t.Pass {
			continue
		}
		for _, n := range t.Notes {
			if strings.HasPrefix(n, "logits NMSE ") {
				out = append(out, t.Name+": "+n)
			}
		}
	}
	return out
}
