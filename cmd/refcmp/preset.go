package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/diffing/weights"
	"github.com/refcmp/refcmp/tensor"
	"github.com/refcmp/refcmp/tensorfile"
	"github.com/refcmp/refcmp/tensorfile/gguf"
)

const presetHelp = "HF <-> GGUF conversion rules: a built-in `NAME` (" + "llama, mistral, mixtral, qwen2, gemma, gemma2, gemma3, phi3" + ") or a preset FILE"

// loadPreset reads --preset: a built-in name, else a preset file.
func loadPreset(arg string) (*gguf.Preset, error) {
	if p, err := gguf.BuiltinPreset(arg); err == nil {
		return p, nil
	}
	fh, err := os.Open(arg)
	if err != nil {
		return nil, usagef("--preset %q: neither a built-in preset (%s) nor a readable file: %v", arg, strings.Join(gguf.PresetNames(), ", "), err)
	}
	defer fh.Close()
	return gguf.ParsePreset(arg, fh)
}

func isGGUFListing(l tensor.Listing) bool {
	for _, n := range l.Notes {
		if strings.HasPrefix(n, tensorfile.GGUFShapeNote) {
			return true
		}
	}
	return false
}

// presetListings shows the GGUF side of 'refcmp weights' by preset p as
// HF's, leaves the HF tensors the conversion drops out of the other
// side, accepts a tied head, and leaves dtypes uncompared (the
// conversion chooses them).
func presetListings(p *gguf.Preset, expected, loaded *tensor.Listing, opts *weights.Options) error {
	ge, gl := isGGUFListing(*expected), isGGUFListing(*loaded)
	if ge == gl {
		return usagef("--preset %s: wants one GGUF side and one Hugging Face side", p.Name)
	}
	g, h := loaded, expected
	if ge {
		g, h = expected, loaded
	}
	hfNames := make([]string, len(h.Weights))
	for i, w := range h.Weights {
		hfNames[i] = w.Name
	}
	gaps := tensorfile.ExpertGaps(*g, p, hfNames)
	*g = tensorfile.PresetListing(*g, p)
	g.Notes = append(g.Notes, gaps...)
	h.Weights, h.Notes = dropConverted(p, h.Weights, func(w tensor.Info) string { return w.Name }, h.Notes, "expected")
	for _, r := range p.Rules {
		if r.Tied != "" {
			opts.Tied = append(opts.Tied, names.TiedPair{Name: r.HF, Other: r.Tied})
		}
	}
	opts.IgnoreDType = true
	g.Notes = append(g.Notes, "dtypes not compared: the conversion chooses them")
	return nil
}

// presetInputs reads the GGUF side of 'refcmp tensors' through preset p
// (HF names, layout and values; see tensorfile.PresetTensors) and leaves
// the dropped HF tensors out of the other side. It returns the converted
// tensors for diffing.ConversionHints and whether they are OURS.
func presetInputs(p *gguf.Preset, ref, ours *diffing.Input) (map[string]diffing.Conversion, bool, error) {
	rg, og := ref.Format == tensorfile.FormatGGUF, ours.Format == tensorfile.FormatGGUF
	if rg == og {
		return nil, false, usagef("--preset %s: wants one GGUF side and one Hugging Face side", p.Name)
	}
	g, h := ours, ref
	if rg {
		g, h = ref, ours
	}
	f, err := gguf.Open(g.Path)
	if err != nil {
		return nil, false, err
	}
	ts, notes, conv, err := tensorfile.PresetTensors(f, g.Tensors, p)
	if err != nil {
		return nil, false, err
	}
	// A tied head's stand-in is for a source that has the head.
	hasHF := map[string]bool{}
	for _, t := range h.Tensors {
		hasHF[t.Name] = true
	}
	standIn := func(name string) bool {
		_, mapped := conv[name]
		return !mapped && standInNamed(p, name)
	}
	if !slices.ContainsFunc(ts, func(t tensor.Tensor) bool { return standIn(t.Name) && hasHF[t.Name] }) {
		ts = slices.DeleteFunc(ts, func(t tensor.Tensor) bool { return standIn(t.Name) })
		notes = slices.DeleteFunc(notes, func(n string) bool { return strings.Contains(n, "(tied head)") })
	}
	g.Tensors, g.Notes = ts, append(g.Notes, notes...)
	h.Tensors, h.Notes = dropConverted(p, h.Tensors, func(t tensor.Tensor) string { return t.Name }, h.Notes, "compared")
	out := map[string]diffing.Conversion{}
	for name, c := range conv {
		dc := diffing.Conversion{Raw: c.Raw, Layer: c.Layer, Pattern: c.Rule.HF}
		if c.Applied {
			dc.Heads = c.Heads
			dc.Add = c.Rule.Add
		}
		if c.Expert >= 0 {
			dc.Layer = -1 // experts: no layer-swap test
		}
		out[name] = dc
	}
	return out, og, nil
}

// standInNamed reports whether name is the HF head of a tied rule.
func standInNamed(p *gguf.Preset, name string) bool {
	return slices.ContainsFunc(p.Rules, func(r gguf.Rule) bool { return r.Tied != "" && r.HF == name })
}

// dropConverted leaves out of xs the Hugging Face tensors preset p's
// conversion drops, and adds a note naming them to notes: "dropped by
// the conversion (preset NAME), not <what>: a, b".
func dropConverted[T any](p *gguf.Preset, xs []T, name func(T) string, notes []string, what string) ([]T, []string) {
	var kept []T
	var dropped []string
	for _, x := range xs {
		if p.Dropped(name(x)) {
			dropped = append(dropped, name(x))
			continue
		}
		kept = append(kept, x)
	}
	if len(dropped) > 0 {
		notes = append(notes, fmt.Sprintf("dropped by the conversion (preset %s), not %s: %s", p.Name, what, strings.Join(dropped, ", ")))
	}
	return kept, notes
}
