package main

import (
	"fmt"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/diffing/golden"
	"github.com/refcmp/refcmp/diffing/names"
	"github.com/refcmp/refcmp/tensorfile"
)

// The error baseline of the golden commands: 'golden record --ref REF'
// keeps each tensor's error against REF in the golden file, and 'golden
// check --ref REF' judges today's error against it (golden.ModeError).

const goldenRefHelp = `With --ref REF, a golden file recorded from the port's output also keeps
each tensor's error against the reference (max|diff|, NMSE, mismatches,
under the default tolerance of 'refcmp tensors'); 'golden check --ref REF'
then checks names, shapes and dtypes, and that no error grew by more than
--worse-by (default 1.5) where it was outside tolerance, or left the
tolerance where it was inside (mode "error"): the port may change, but
not get further from the reference.`

// refErrors compares REF with INPUT as 'refcmp tensors REF INPUT' does
// (after --ignore) and returns each INPUT tensor's error figures, by its
// name in INPUT.
func refErrors(ref, input string, in *goldenInput) (map[string]diffing.ErrorFigures, error) {
	opts, err := rawInputOptions(in.dtype, in.shape)
	if err != nil {
		return nil, err
	}
	rules, err := names.ParseNameRules(nil, in.ignores)
	if err != nil {
		return nil, &usageError{err}
	}
	r, closeRef, err := openInput("REF", ref, tensorfile.Options{})
	if err != nil {
		return nil, fmt.Errorf("--ref %w", err)
	}
	defer closeRef()
	o, closeOurs, err := openInput("INPUT", input, opts)
	if err != nil {
		return nil, err
	}
	defer closeOurs()
	rep, err := diffing.CompareAll(r, o, diffing.CompareAllOptions{Rules: rules, Common: true})
	if err != nil {
		return nil, fmt.Errorf("--ref %s: %w", ref, err)
	}
	out := make(map[string]diffing.ErrorFigures, len(rep.Tensors))
	for _, t := range rep.Tensors {
		out[t.OursName] = diffing.FiguresOf(t)
	}
	return out, nil
}

// recordErrors sets g.Ref and each tensor's Error from refErrors.
func recordErrors(g *golden.File, ref string, errs map[string]diffing.ErrorFigures) {
	g.Ref = ref
	for i := range g.Tensors {
		if f, ok := errs[g.Tensors[i].Name]; ok {
			g.Tensors[i].Error = &f
		}
	}
}
