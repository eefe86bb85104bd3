package diffing

import (
	"fmt"
	"runtime"
	"slices"

	"github.com/refcmp/refcmp/tensor"
)

// PictureOptions tunes Pictures.
type PictureOptions struct {
	// Workers bounds the goroutines reading chunks; 0 means GOMAXPROCS.
	// The picture does not depend on it.
	Workers int
}

// pictureTol is the element rule the pictures count mismatches by: the
// pair's, and the dtypes' defaults for the cosine and NMSE checks, which
// have none.
func pictureTol(ref, ours tensor.Tensor, res *Result) (atol, rtol float64) {
	atol, rtol = elementTol(res)
	if t := res.Tolerance; t.Check == CheckCosine || t.Check == CheckNMSE {
		d := DefaultTolerance(ref.DType, ours.DType)
		atol, rtol = d.Atol, d.Rtol
	}
	return atol, rtol
}

// pictureVisitor feeds a pictureAcc from the diagnosis pass (see
// Options.Pictures); its forks merge in any order.
type pictureVisitor struct{ *pictureAcc }

func newPictureVisitor(ref, ours tensor.Tensor, res *Result) *pictureVisitor {
	atol, rtol := pictureTol(ref, ours, res)
	t := res.Tolerance
	return &pictureVisitor{newPictureAcc(ref.Shape, atol, rtol, t.Exact, t.EqualNaN)}
}

func (v *pictureVisitor) fork() chunkVisitor {
	p := v.pictureAcc
	return &pictureVisitor{newPictureAcc(p.shape, p.atol, p.rtol, p.exact, p.equalNaN)}
}

func (v *pictureVisitor) merge(next chunkVisitor) {
	v.pictureAcc.merge(next.(*pictureVisitor).pictureAcc)
}

// Pictures is for a caller that has a Result but not its Picture
// (compared without Options.Pictures): CompareWith with Options.Pictures
// gathers the same Picture in the diagnosis pass, without this extra
// pass. Pictures streams the pair once more, in bounded chunks, and gathers
// what its pictures are drawn from (see Picture), under res's element
// rule (the dtypes' defaults for the cosine and NMSE checks, which have
// none). Its memory is per worker and bounded by the rank, never a copy
// of a tensor. The shapes must be the same.
func Pictures(ref, ours tensor.Tensor, res Result, opt PictureOptions) (Picture, error) {
	if !slices.Equal(ref.Shape, ours.Shape) {
		return Picture{}, fmt.Errorf("tensor %q: no pictures for shapes %v and %v", ref.Name, ref.Shape, ours.Shape)
	}
	rdec, odec := decoderFor(ref.DType), decoderFor(ours.DType)
	if rdec == nil || odec == nil {
		return Picture{}, fmt.Errorf("tensor %q: no pictures for dtypes %s and %s", ref.Name, ref.DType, ours.DType)
	}
	atol, rtol := pictureTol(ref, ours, &res)
	t := res.Tolerance
	n := ref.Numel()
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	nchunks := int((n + chunkElems - 1) / chunkElems)
	workers = max(1, min(workers, nchunks))
	accs := make([]*pictureAcc, workers)
	for w := range accs {
		accs[w] = newPictureAcc(ref.Shape, atol, rtol, t.Exact, t.EqualNaN)
	}
	rsz, osz := int64(ref.DType.Size()), int64(ours.DType.Size())
	scr := make([]scratch, workers)
	work := func(w, job int) (struct{}, error) {
		s := &scr[w]
		if s.rb == nil {
			s.rb = make([]float64, blockElems)
			s.ob = make([]float64, blockElems)
		}
		start := int64(job) * chunkElems
		cn := min(chunkElems, n-start)
		rbuf, err := readChunk(ref, "ref", n, nil, &s.rawR, start*rsz, cn*rsz)
		if err != nil {
			return struct{}{}, err
		}
		obuf, err := readChunk(ours, "ours", n, nil, &s.rawO, start*osz, cn*osz)
		if err != nil {
			return struct{}{}, err
		}
		for off := int64(0); off < cn; off += blockElems {
			bn := min(blockElems, cn-off)
			r, o := s.rb[:bn], s.ob[:bn]
			rdec(r, rbuf[off*rsz:(off+bn)*rsz])
			odec(o, obuf[off*osz:(off+bn)*osz])
			accs[w].visit(start+off, r, o)
		}
		return struct{}{}, nil
	}
	// Each worker gathers into its own accumulator; they merge by max,
	// sums and the sample's smallest keys, so the order does not matter.
	if err := runOrdered(nchunks, workers, work, func(int, struct{}) {}); err != nil {
		return Picture{}, err
	}
	for _, q := range accs[1:] {
		accs[0].merge(q)
	}
	name := res.Name
	if name == "" {
		name = ref.Name
	}
	return accs[0].picture(name), nil
}
