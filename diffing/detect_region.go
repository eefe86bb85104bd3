package diffing

import (
	"fmt"
	"strings"
)

// detectRegion reports mismatches confined to a box: one index of an
// axis (one head, one channel, one batch entry), or a range of one axis
// within part of another (padding from position p in batch b). It reads
// the compare pass's bounding box of the mismatches; an axis counts as
// confined when the box covers at most half of it.
func detectRegion(in *diagInput) []finding {
	if in.noise {
		return nil
	}
	p, shape := in.p, in.ax.shape
	if p.mis < 2 || len(shape) == 0 || p.lo == nil {
		return nil
	}
	var parts []string
	vol := 1.0
	narrowest, frac := -1, 1.0
	for a, d := range shape {
		lo, hi := p.lo[a], p.hi[a]
		w := hi - lo + 1
		vol *= float64(w)
		if d < 2 || 2*w > d {
			continue
		}
		if f := float64(w) / float64(d); f < frac {
			narrowest, frac = a, f
		}
		switch {
		case lo == hi:
			parts = append(parts, fmt.Sprintf("index %d of axis %d (size %d)", lo, a, d))
		case hi == d-1:
			parts = append(parts, fmt.Sprintf("indices %d..%d of axis %d (size %d: from %d to the end)", lo, hi, a, d, lo))
		default:
			parts = append(parts, fmt.Sprintf("indices %d..%d of axis %d (size %d)", lo, hi, a, d))
		}
	}
	if narrowest < 0 {
		return nil
	}
	box := make([]string, len(shape))
	for a := range shape {
		box[a] = fmt.Sprintf("%d..%d", p.lo[a], p.hi[a])
	}
	look := "the slice of the computation that writes that index: one head's, channel's or batch entry's weights, offsets or indexing"
	if len(parts) > 1 {
		look = "a range of one axis in part of another: padding or masking from a position in one batch entry (attention or padding mask, sequence lengths), or one head's or channel's slice"
	}
	return []finding{{
		hint: TensorHint{
			Kind:    TensorHintConfined,
			Summary: fmt.Sprintf("all %d mismatches lie in %s", p.mis, strings.Join(parts, " and ")),
			Evidence: fmt.Sprintf("bounding box of the mismatches [%s]; %d of its %.0f elements mismatch, none outside it",
				strings.Join(box, ", "), p.mis, vol),
			Look: look,
		},
		score: 1 - frac,
		axis:  narrowest,
	}}
}
