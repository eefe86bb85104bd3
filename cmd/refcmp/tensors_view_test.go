package main

import (
	"testing"

	"github.com/refcmp/refcmp/diffing"
)

// TestDetailsOwnCause: past --details, the later failing pairs whose
// diagnosis names a cause of its own still get their blocks; the rest
// are counted as more.
func TestDetailsOwnCause(t *testing.T) {
	var r diffing.Report
	for i := range 6 {
		r.Tensors = append(r.Tensors, diffing.Result{Name: string(rune('a' + i)), Pass: i == 0})
	}
	r.Sequence.OwnCause = []int{4}
	ds, more := tensorsView{Report: r, Details: 1}.details()
	var got []string
	for _, d := range ds {
		got = append(got, d.Title)
	}
	if len(ds) != 2 || more != 3 || ds[0].Title[:7] != "step 1:" || ds[1].Title[:7] != "step 4:" {
		t.Errorf("details = %q, more %d; want steps 1 and 4, 3 more", got, more)
	}
	if ds, more := (tensorsView{Report: r, All: true}).details(); len(ds) != 5 || more != 0 {
		t.Errorf("--all: %d blocks, %d more", len(ds), more)
	}
}
