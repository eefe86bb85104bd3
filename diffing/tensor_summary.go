package diffing

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sort"

	"github.com/refcmp/refcmp/tensor"
)

// Sample is one element of a tensor: its position and value.
type Sample struct {
	Index  []int64      `json:"index"`  // multi-dimensional index ([] for a scalar)
	Offset int64        `json:"offset"` // flat position in C order
	Value  tensor.Float `json:"value"`
}

// TensorStats is what every summary of a tensor holds: its name, dtype,
// shape, element count and the statistics of its elements. TensorSummary
// and a golden record (diffing/golden.Tensor) embed it, so their JSON
// starts with the same fields.
type TensorStats struct {
	Name  string       `json:"name"`
	DType tensor.DType `json:"dtype"`
	Shape []int64      `json:"shape"`
	Numel int64        `json:"numel"`
	// Stats are min, max, mean and std of the finite elements and the
	// NaN and Inf counts, accumulated as Compare accumulates a side (the
	// same numbers, to rounding).
	Stats SideStats `json:"stats"`
}

// TensorSummary describes one tensor from one pass over its data: the
// statistics of `refcmp inspect --stats` and of a golden record.
type TensorSummary struct {
	TensorStats
	// SHA256 is the hex SHA-256 of the tensor's data as little-endian,
	// C-order bytes (what `sha256sum` gives for a raw dump); empty unless
	// SummaryOptions.Hash.
	SHA256 string `json:"sha256,omitempty"`
	// Samples are the values at SummaryOptions.Samples, in that order.
	Samples []Sample `json:"samples,omitempty"`
	// FirstNonFinite is the first NaN or ±Inf in C order, or nil.
	FirstNonFinite *Sample `json:"first_nonfinite"`
}

// SummaryOptions says what Summarize computes besides the statistics.
type SummaryOptions struct {
	// Hash computes the SHA-256 of the data in the same pass.
	Hash bool
	// Samples are flat offsets whose values to keep, ascending, each
	// below the element count (see SamplePositions).
	Samples []int64
	// Workers bounds the goroutines; 0 means GOMAXPROCS. Results do not
	// depend on it.
	Workers int
}

// sampleStrided is the number of strided positions SamplePositions picks
// besides the first and last element.
const sampleStrided = 6

// SamplePositions returns the flat offsets a golden record keeps values
// at, ascending and without repeats: every element of a tensor of up to 8
// elements; otherwise the first, the last, and 6 positions in between at
// floor(frac(i·φ)·numel) for i = 1..6, φ = (√5-1)/2 in 64-bit fixed point
// (a Weyl sequence: spread over the tensor, and never aligned with rows or
// columns the way an even stride can be). Integer arithmetic only, so
// every platform picks the same positions.
func SamplePositions(numel int64) []int64 {
	if numel <= 0 {
		return []int64{}
	}
	if numel <= sampleStrided+2 {
		out := make([]int64, numel)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	const phi = 0x9E3779B97F4A7C15 // 2^64 · (√5-1)/2
	out := []int64{0, numel - 1}
	for i := uint64(1); i <= sampleStrided; i++ {
		hi, _ := bits.Mul64(i*phi, uint64(numel))
		out = append(out, int64(hi))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Summarize reads t once, in parallel over chunks, and returns its
// statistics, and with opt its SHA-256 and sampled values. Errors are for
// unusable input (unknown dtype, short data, read failures, bad sample
// offsets) and carry the tensor's name.
func Summarize(t tensor.Tensor, opt SummaryOptions) (TensorSummary, error) {
	s := TensorSummary{TensorStats: TensorStats{Name: t.Name, DType: t.DType, Shape: slices.Clone(t.Shape)}}
	if s.Shape == nil {
		s.Shape = []int64{}
	}
	n, err := checkTensor("", t)
	if err != nil {
		return s, err
	}
	s.Numel = n
	for i, off := range opt.Samples {
		if off < 0 || off >= n || (i > 0 && off <= opt.Samples[i-1]) {
			return s, fmt.Errorf("tensor %q: sample offsets %v: want ascending offsets below %d", t.Name, opt.Samples, n)
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}

	esz := int64(t.DType.Size())
	dec := decoderFor(t.DType)
	var mem []byte
	if b, ok := t.Data.(ByteSource); ok {
		mem = b.Bytes()
	}
	nchunks := int((n + chunkElems - 1) / chunkElems)
	workers = max(1, min(workers, nchunks))

	// Chunk buffers: a worker's own when nothing outlives the chunk; with
	// Hash, the bytes travel to the merge (in chunk order) to be hashed,
	// so buffers come from a free list bounded by what runOrdered keeps
	// in flight.
	free := make(chan []byte, 3*workers+1)
	getBuf := func() []byte {
		select {
		case b := <-free:
			return b
		default:
			return make([]byte, min(chunkElems, n)*esz)
		}
	}
	putBuf := func(b []byte) {
		select {
		case free <- b:
		default:
		}
	}
	type scratchS struct {
		raw []byte
		f   []float64
	}
	scr := make([]scratchS, workers)

	type chunkOut struct {
		m       moments
		firstNF int64
		nfVal   float64
		samples []Sample
		raw     []byte // the chunk's bytes, for the hash
		owned   bool   // raw came from getBuf
	}
	work := func(w, c int) (chunkOut, error) {
		sc := &scr[w]
		if sc.f == nil {
			sc.f = make([]float64, min(blockElems, n))
		}
		start := int64(c) * chunkElems
		cn := min(chunkElems, n-start)
		size := cn * esz
		out := chunkOut{m: newMoments(), firstNF: -1}
		var buf []byte
		switch {
		case mem != nil:
			buf = mem[start*esz : start*esz+size]
		default:
			if opt.Hash {
				buf = getBuf()[:size]
				out.owned = true
			} else {
				if sc.raw == nil {
					sc.raw = make([]byte, min(chunkElems, n)*esz)
				}
				buf = sc.raw[:size]
			}
			k, err := t.Data.ReadAt(buf, start*esz)
			if k != len(buf) {
				if err == nil || errors.Is(err, io.EOF) {
					err = io.ErrUnexpectedEOF
				}
				return out, fmt.Errorf("tensor %q: shape %v %s needs %d bytes: reading at offset %d: %w",
					t.Name, t.Shape, t.DType, n*esz, start*esz+int64(k), err)
			}
		}
		for off := int64(0); off < cn; off += blockElems {
			bn := int(min(blockElems, cn-off))
			v := sc.f[:bn]
			dec(v, buf[off*esz:(off+int64(bn))*esz])
			first := summarizeBlock(&out.m, v)
			if first >= 0 && out.firstNF < 0 {
				out.firstNF = start + off + int64(first)
				out.nfVal = v[first]
			}
		}
		// Samples in this chunk.
		lo := sort.Search(len(opt.Samples), func(i int) bool { return opt.Samples[i] >= start })
		for i := lo; i < len(opt.Samples) && opt.Samples[i] < start+cn; i++ {
			o := opt.Samples[i]
			x, _ := DecodeValue(t.DType, buf[(o-start)*esz:])
			out.samples = append(out.samples, Sample{Index: tensor.Unravel(o, s.Shape), Offset: o, Value: tensor.Float(x)})
		}
		if opt.Hash {
			out.raw = buf
		}
		return out, nil
	}

	total := newMoments()
	firstNF, nfVal := int64(-1), 0.0
	h := sha256.New()
	s.Samples = make([]Sample, 0, len(opt.Samples))
	err = runOrdered(nchunks, workers, work, func(_ int, p chunkOut) {
		total.merge(&p.m)
		if firstNF < 0 && p.firstNF >= 0 {
			firstNF, nfVal = p.firstNF, p.nfVal
		}
		s.Samples = append(s.Samples, p.samples...)
		if opt.Hash {
			h.Write(p.raw)
			if p.owned {
				putBuf(p.raw[:cap(p.raw)])
			}
		}
	})
	if err != nil {
		return s, err
	}
	s.Stats = total.stats()
	if opt.Hash {
		s.SHA256 = hex.EncodeToString(h.Sum(nil))
	}
	if len(opt.Samples) == 0 {
		s.Samples = nil
	}
	if firstNF >= 0 {
		s.FirstNonFinite = &Sample{Index: tensor.Unravel(firstNF, s.Shape), Offset: firstNF, Value: tensor.Float(nfVal)}
	}
	return s, nil
}

// summarizeBlock folds one block of decoded values into m with the
// comparison kernel's method (sums about the block's first value, M2 =
// Σ(x-k)² - (Σ(x-k))²/n; element by element when a value is not finite),
// so that Summarize's statistics agree with Compare's to rounding. It
// returns the position of the first NaN or Inf in the block, or -1.
func summarizeBlock(m *moments, v []float64) int {
	n := len(v)
	if n == 0 {
		return -1
	}
	if k := v[0]; k-k == 0 {
		var s, s2 float64
		mn, mx := k, k
		for _, x := range v {
			d := x - k
			s += d
			s2 += d * d
			if x < mn {
				mn = x
			}
			if x > mx {
				mx = x
			}
		}
		if t := s + s2; t-t == 0 {
			fn := float64(n)
			m.mergeBlock(int64(n), fn*k+s, mn, mx, max(0, s2-s*s/fn))
			return -1
		}
	}

	// Some value is not finite (or the sum overflowed).
	first := -1
	var cnt int64
	var sum float64
	mn, mx := math.Inf(1), math.Inf(-1)
	for i, x := range v {
		switch {
		case x-x == 0:
			cnt++
			sum += x
			mn = min(mn, x)
			mx = max(mx, x)
		case x != x:
			m.nan++
		default:
			m.inf++
		}
		if x-x != 0 && first < 0 {
			first = i
		}
	}
	var mean, m2 float64
	if cnt > 0 {
		mean = sum / float64(cnt)
	}
	for _, x := range v {
		if x-x == 0 {
			m2 += (x - mean) * (x - mean)
		}
	}
	m.mergeBlock(cnt, sum, mn, mx, m2)
	return first
}
