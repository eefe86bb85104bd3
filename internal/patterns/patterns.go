// Package patterns builds tensor pairs that fail the way ports fail —
// a causal mask off by one, one corrupted attention head, a padding tail
// in one batch, a jump at one layer of a sequence — for the tests of the
// pictures, which check that the picture puts the error where these put it.
package patterns

import (
	"encoding/binary"
	"math"
	"math/rand/v2"

	"github.com/refcmp/refcmp/tensor"
)

// Pair is a ref and an ours tensor of the same shape, float32.
type Pair struct {
	Ref, Ours tensor.Tensor
}

// F32 is a float32 tensor of vals.
func F32(name string, shape []int64, vals []float32) tensor.Tensor {
	b := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return tensor.Tensor{Name: name, DType: tensor.F32, Shape: shape, Data: tensor.MemData(b)}
}

// noise is reproducible values in [-1, 1).
func noise(n int, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 7))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(2*r.Float64() - 1)
	}
	return v
}

// masked is scores [.., t, t] with the causal mask added: keys after
// the query by more than shift (k > q+shift) get -1e9, as
// masked_fill(mask, -1e9) does.
func masked(scores []float32, t, shift int) []float32 {
	out := append([]float32(nil), scores...)
	for i := range out {
		q, k := (i/t)%t, i%t
		if k > q+shift {
			out[i] = -1e9
		}
	}
	return out
}

// CausalOffByOne is masked attention scores [b, h, t, t] where ours
// lets each query also see the next key (the mask shifted by one): the
// pairs differ exactly on the diagonal k = q+1, by about 1e9.
func CausalOffByOne(b, h, t int) Pair {
	shape := []int64{int64(b), int64(h), int64(t), int64(t)}
	s := noise(b*h*t*t, 1)
	return Pair{F32("attn.scores", shape, masked(s, t, 0)), F32("attn.scores", shape, masked(s, t, 1))}
}

// CorruptHead is attention output [b, h, t, d] where ours has head bad
// wrong (its values scaled by 1.5), the others exact.
func CorruptHead(b, h, t, d, bad int) Pair {
	shape := []int64{int64(b), int64(h), int64(t), int64(d)}
	ref := noise(b*h*t*d, 2)
	ours := append([]float32(nil), ref...)
	for i := range ours {
		if (i/(t*d))%h == bad {
			ours[i] *= 1.5
		}
	}
	return Pair{F32("attn.out", shape, ref), F32("attn.out", shape, ours)}
}

// PaddingTail is hidden states [b, t, d] where, in batch bad only, ours
// holds garbage in the padded positions t >= valid (ref has zeros there).
func PaddingTail(b, t, d, bad, valid int) Pair {
	shape := []int64{int64(b), int64(t), int64(d)}
	ref := noise(b*t*d, 3)
	ours := append([]float32(nil), ref...)
	junk := noise(b*t*d, 4)
	for bi := range b {
		for ti := valid; ti < t; ti++ {
			for di := range d {
				i := (bi*t+ti)*d + di
				ref[i] = 0
				ours[i] = 0
				if bi == bad {
					ours[i] = junk[i]
				}
			}
		}
	}
	return Pair{F32("hidden", shape, ref), F32("hidden", shape, ours)}
}

// LayerJump is the hidden states after each of n layers, [t, d] each,
// where ours is float noise (1e-7 relative) up to layer jump-1 and wrong
// by about 1e-2 from layer jump on.
func LayerJump(n, t, d, jump int) []Pair {
	out := make([]Pair, n)
	shape := []int64{int64(t), int64(d)}
	for l := range n {
		ref := noise(t*d, uint64(10+l))
		e := noise(t*d, uint64(100+l))
		ours := make([]float32, len(ref))
		scale := float32(1e-7)
		if l >= jump {
			scale = 1e-2
		}
		for i := range ref {
			ours[i] = ref[i] + scale*e[i]
		}
		name := "layers." + itoa(l) + ".out"
		out[l] = Pair{F32(name, shape, ref), F32(name, shape, ours)}
	}
	return out
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
