package diffing

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/refcmp/refcmp/tensor"
)

// Index-remapping hints (transposed, permuted, shifted, reshaped, cropped)
// cannot be checked by streaming both tensors in step, so they are checked
// on a fixed pseudo-random sample of positions: bounded work and memory,
// and the evidence says how many positions were sampled.

// hintSamples is the number of positions a remapping is checked on.
const hintSamples = 2048

// elemReader reads single elements of a tensor.
type elemReader struct {
	t   tensor.Tensor
	mem []byte
	dec decoder
	buf [8]byte
	one [1]float64
	err error // the first error of get
}

// get is at for the detectors' samplers: a read error is kept in e.err
// (the caller reports it) and the value is NaN.
func (e *elemReader) get(flat int64) float64 {
	if e.err != nil {
		return math.NaN()
	}
	v, err := e.at(flat)
	if err != nil {
		e.err = err
		return math.NaN()
	}
	return v
}

func newElemReader(t tensor.Tensor) *elemReader {
	e := &elemReader{t: t, dec: decoderFor(t.DType)}
	if s, ok := t.Data.(ByteSource); ok {
		e.mem = s.Bytes()
	}
	return e
}

func (e *elemReader) at(flat int64) (float64, error) {
	sz := e.t.DType.Size()
	var b []byte
	if e.mem != nil {
		b = e.mem[flat*int64(sz) : (flat+1)*int64(sz)]
		// The common float dtypes without the decoder's call.
		switch e.t.DType {
		case tensor.F32:
			return float64(math.Float32frombits(binary.LittleEndian.Uint32(b))), nil
		case tensor.F64:
			return math.Float64frombits(binary.LittleEndian.Uint64(b)), nil
		case tensor.BF16:
			return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)), nil
		case tensor.F16:
			return f16ToF64(binary.LittleEndian.Uint16(b)), nil
		}
	} else {
		b = e.buf[:sz]
		k, err := e.t.Data.ReadAt(b, flat*int64(sz))
		if k < sz {
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, fmt.Errorf("tensor %q: reading element %d: %w", e.t.Name, flat, err)
		}
	}
	e.dec(e.one[:], b)
	return e.one[0], nil
}

// sampleCheck is the outcome of checking a remapping on sampled positions.
type sampleCheck struct {
	checked, matched int // positions checked, and those within tolerance
	idMatched        int // of the same positions, those matching without remapping (same shapes only)
}

func (s sampleCheck) frac() float64 { return float64(s.matched) / float64(max(1, s.checked)) }

// checkRemap samples positions of ours and compares each with the ref
// element mapOurs gives (ok false: no counterpart, skipped). With
// identity set (same shapes) it also compares the same positions without
// remapping. With minFrac > 0 it stops once the matched share can no
// longer reach minFrac (the caller then rejects the remapping, whatever
// the rest of the sample holds).
func checkRemap(ref, ours *elemReader, oursShape, refShape []int64, atol, rtol float64, equalNaN, identity bool,
	minFrac float64, mapOurs func(oi, ri []int64) bool) (sampleCheck, error) {
	var sc sampleCheck
	n, _ := tensor.Numel(oursShape)
	if n == 0 {
		return sc, nil
	}
	rng := rand.New(rand.NewPCG(0x5eed, uint64(n)))
	ri := make([]int64, len(refShape))
	close := func(x, y float64) bool {
		if x-x == 0 && y-y == 0 {
			return math.Abs(y-x) <= allowance(atol, rtol, math.Abs(x))
		}
		return x == y || equalNaN && x != x && y != y
	}
	// Small tensors: every position; large: a sample.
	all := n <= hintSamples
	tries := int64(hintSamples)
	if all {
		tries = n
	} else {
		tries = 4 * hintSamples
	}
	// Misses beyond maxMiss leave matched/checked below minFrac for any
	// number checked up to the most there can be.
	maxMiss := -1
	if minFrac > 0 {
		maxMiss = int((1 - minFrac) * float64(min(tries, hintSamples)))
	}
	for t := int64(0); t < tries && sc.checked < hintSamples; t++ {
		if maxMiss >= 0 && sc.checked-sc.matched > maxMiss {
			break
		}
		j := t
		if !all {
			j = rng.Int64N(n)
		}
		oi := tensor.Unravel(j, oursShape)
		if !mapOurs(oi, ri) {
			continue
		}
		y, err := ours.at(j)
		if err != nil {
			return sc, err
		}
		x, err := ref.at(ravel(ri, refShape))
		if err != nil {
			return sc, err
		}
		sc.checked++
		if close(x, y) {
			sc.matched++
		}
		if identity {
			x0, err := ref.at(j)
			if err != nil {
				return sc, err
			}
			if close(x0, y) {
				sc.idMatched++
			}
		}
	}
	return sc, nil
}

// ravel is the flat C-order position of a multi-index.
func ravel(idx, shape []int64) int64 {
	var f int64
	for a, d := range shape {
		f = f*d + idx[a]
	}
	return f
}

// permutations calls fn with every permutation of [0, n) except the
// identity, in lexicographic order, until fn returns false.
func permutations(n int, fn func(p []int) bool) {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	for {
		// Next lexicographic permutation.
		i := n - 2
		for i >= 0 && p[i] >= p[i+1] {
			i--
		}
		if i < 0 {
			return
		}
		j := n - 1
		for p[j] <= p[i] {
			j--
		}
		p[i], p[j] = p[j], p[i]
		for a, b := i+1, n-1; a < b; a, b = a+1, b-1 {
			p[a], p[b] = p[b], p[a]
		}
		if !fn(p) {
			return
		}
	}
}
