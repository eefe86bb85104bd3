package weights

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/refcmp/refcmp/internal/tensortest"
	"github.com/refcmp/refcmp/tensor"
)

// Hostile listings: names built to make the name hints quadratic. Each
// must give its answer in bounded time and memory, with a note saying
// what was skipped.

func noteHint(r Report, kind, prefix string) string {
	for _, h := range r.Hints {
		if h.Kind == kind && strings.HasPrefix(h.Message, prefix) {
			return h.Message
		}
	}
	return ""
}

// TestHostileLongNames: two 200,000-character names one letter apart
// (186 s of Levenshtein before the cap) are not compared, and a note
// says so.
func TestHostileLongNames(t *testing.T) {
	long := strings.Repeat("a", 200_000)
	exp := tensor.Listing{Weights: []tensor.Info{{Name: long + "x"}, {Name: "ok.weight"}}}
	got := tensor.Listing{Weights: []tensor.Info{{Name: long + "y"}, {Name: "ok.weight"}}}
	var r Report
	tensortest.Budget(t, 30*time.Second, 64<<20, func() { r = Diff(exp, got, Options{}) })
	if len(r.Missing) != 1 || len(r.Unexpected) != 1 {
		t.Fatalf("%d missing, %d unexpected", len(r.Missing), len(r.Unexpected))
	}
	want := "2 names over 4096 bytes took part in no name hint"
	if n := noteHint(r, HintClosest, "2 names"); n != want {
		t.Errorf("note %q, want %q", n, want)
	}
}

// TestHostileManyLongNames: hundreds of 4,000-byte names that all pair
// up (each distance 16M character steps): the character budget stops
// the search, with a note.
func TestHostileManyLongNames(t *testing.T) {
	var exp, got tensor.Listing
	for i := range 300 {
		exp.Weights = append(exp.Weights, tensor.Info{Name: fmt.Sprintf("%04d%s", i, strings.Repeat("e", 3996))})
		got.Weights = append(got.Weights, tensor.Info{Name: fmt.Sprintf("%s%04d", strings.Repeat("g", 3996), i)})
	}
	var r Report
	tensortest.Budget(t, 20*time.Second, 256<<20, func() { r = Diff(exp, got, Options{}) })
	if n := noteHint(r, HintClosest, "closest names were not searched for "); !strings.HasSuffix(n, "missing names: the search's budget ran out") {
		t.Errorf("note %q", n)
	}
}

// TestHostileManyPrefixes: 6,000 names on each side, each with its own
// prefix before a shared suffix (36M candidate rules before the cap:
// out of memory).
func TestHostileManyPrefixes(t *testing.T) {
	var exp, got tensor.Listing
	for i := range 6000 {
		exp.Weights = append(exp.Weights, tensor.Info{Name: fmt.Sprintf("exp%d.attn.proj.weight", i)})
		got.Weights = append(got.Weights, tensor.Info{Name: fmt.Sprintf("got%d.attn.proj.weight", i)})
	}
	var r Report
	tensortest.Budget(t, 20*time.Second, 1<<30, func() { r = Diff(exp, got, Options{}) })
	want := "prefix changes were not searched for 2 common suffixes shared by over 256 loaded prefixes each"
	if n := noteHint(r, HintPrefix, "prefix changes were not"); n != want {
		t.Errorf("note %q, want %q", n, want)
	}
	if len(r.Missing) != 6000 {
		t.Errorf("%d missing", len(r.Missing))
	}
}

// TestHostilePrefixWork: distinct suffixes, each shared by 200 loaded
// prefixes (under the per-suffix cap), on 10,000 missing names: the work
// budget stops the count, with a note.
func TestHostilePrefixWork(t *testing.T) {
	var exp, got tensor.Listing
	for i := range 10_000 {
		exp.Weights = append(exp.Weights, tensor.Info{Name: fmt.Sprintf("e%d.s%d.x.weight", i, i%100)})
	}
	for i := range 20_000 {
		got.Weights = append(got.Weights, tensor.Info{Name: fmt.Sprintf("g%d.s%d.x.weight", i, i%100)})
	}
	var r Report
	tensortest.Budget(t, 30*time.Second, 2<<30, func() { r = Diff(exp, got, Options{}) })
	if n := noteHint(r, HintPrefix, "prefix changes were not"); !strings.Contains(n, "after the search's budget ran out") {
		t.Errorf("note %q", n)
	}
}

// TestHostileHugeName: a 64 MiB name on each side (a manifest line can
// be 1 GiB: 24 GB of distance tables before the cap) costs a few copies
// of the names, not their product.
func TestHostileHugeName(t *testing.T) {
	long := strings.Repeat("a.", 32<<20)
	exp := tensor.Listing{Weights: []tensor.Info{{Name: long + "x"}}}
	got := tensor.Listing{Weights: []tensor.Info{{Name: long + "y"}}}
	var r Report
	tensortest.Budget(t, 20*time.Second, 2<<30, func() { r = Diff(exp, got, Options{}) })
	if len(r.Missing) != 1 || len(r.Unexpected) != 1 {
		t.Fatalf("%d missing, %d unexpected", len(r.Missing), len(r.Unexpected))
	}
}
