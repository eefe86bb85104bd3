package diffing

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/tensor"
)

// Values of one tensor, or of a slice of it, for a person to read
// (`refcmp inspect --values`): only the elements shown are read, as
// numpy shows a large array, its first and last edge items per axis.

// SliceAxis is one axis of a basic slice: an index (the axis goes), or
// the range Start:Stop.
type SliceAxis struct {
	Index       bool
	Start, Stop int64
}

// ParseSlice reads a numpy basic slice, "[0, :, 3:5]" (brackets
// optional), against shape: integers (negative from the end), ":",
// "a:", ":b", "a:b" (clamped as numpy clamps), and "..." once. Axes not
// named are whole. Steps are not supported.
func ParseSlice(s string, shape []int64) ([]SliceAxis, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimPrefix(t, "["), "]")
	var parts []string
	if strings.TrimSpace(t) != "" {
		parts = strings.Split(t, ",")
	}
	ell := -1
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "..." {
			if ell >= 0 {
				return nil, fmt.Errorf("slice %s: \"...\" twice", s)
			}
			ell = i
		}
	}
	n := len(parts)
	if ell >= 0 {
		n--
	}
	if n > len(shape) {
		return nil, fmt.Errorf("slice %s: %d indices for %d dimensions (shape %s)", s, n, len(shape), tensor.FormatShape(shape))
	}
	if ell >= 0 {
		fill := make([]string, len(shape)-n)
		for i := range fill {
			fill[i] = ":"
		}
		parts = append(append(append([]string{}, parts[:ell]...), fill...), parts[ell+1:]...)
	}
	out := make([]SliceAxis, len(shape))
	for i, d := range shape {
		out[i] = SliceAxis{Start: 0, Stop: d}
		if i >= len(parts) {
			continue
		}
		p := parts[i]
		if p == "" {
			return nil, fmt.Errorf("slice %s: empty index for dimension %d", s, i)
		}
		num := func(x string, def int64) (int64, error) {
			x = strings.TrimSpace(x)
			if x == "" {
				return def, nil
			}
			v, err := strconv.ParseInt(x, 10, 64)
			if err != nil {
				return 0, fmt.Errorf("slice %s: %q is not an integer", s, x)
			}
			return v, nil
		}
		a, b, isRange := strings.Cut(p, ":")
		if !isRange {
			v, err := num(a, 0)
			if err != nil {
				return nil, err
			}
			if v < 0 {
				v += d
			}
			if v < 0 || v >= d {
				return nil, fmt.Errorf("slice %s: index %s is out of bounds for dimension %d of size %d", s, p, i, d)
			}
			out[i] = SliceAxis{Index: true, Start: v, Stop: v + 1}
			continue
		}
		if strings.Contains(b, ":") {
			return nil, fmt.Errorf("slice %s: steps (a:b:c) are not supported", s)
		}
		lo, err := num(a, 0)
		if err != nil {
			return nil, err
		}
		hi, err := num(b, d)
		if err != nil {
			return nil, err
		}
		clamp := func(v int64) int64 {
			if v < 0 {
				v += d
			}
			return min(max(v, 0), d)
		}
		lo, hi = clamp(lo), clamp(hi)
		out[i] = SliceAxis{Start: lo, Stop: max(lo, hi)}
	}
	return out, nil
}

// Values is what a slice shows: its shape, and along each axis the
// positions shown (all, or the first and last Edge when the slice has
// more than Threshold elements and the axis more than 2*Edge), with the
// values at those positions in C order.
type Values struct {
	DType tensor.DType
	Shape []int64 // the slice's shape (indexed axes dropped)
	// Summarized: some positions are left out (Shown has gaps).
	Summarized bool
	Shown      [][]int64 // per axis of Shape, the positions shown, ascending
	Data       []float64 // len = product of len(Shown[i])
}

// MaxShownValues bounds the values ReadValues reads.
const MaxShownValues = 1 << 20

// ReadValues reads the elements of sl (nil: the whole tensor) that a
// summary with edge items per axis shows once the slice has more than
// threshold elements. It reads only those elements' bytes.
func ReadValues(t tensor.Tensor, sl []SliceAxis, edge int, threshold int64) (Values, error) {
	shape := t.Shape
	if shape == nil {
		shape = []int64{}
	}
	if sl == nil {
		sl = make([]SliceAxis, len(shape))
		for i, d := range shape {
			sl[i] = SliceAxis{Stop: d}
		}
	}
	if len(sl) != len(shape) {
		return Values{}, fmt.Errorf("tensor %q: a slice of %d dimensions for shape %s", t.Name, len(sl), tensor.FormatShape(shape))
	}
	dec := decoderFor(t.DType)
	if dec == nil {
		return Values{}, fmt.Errorf("tensor %q: no values to show for dtype %s", t.Name, t.DType)
	}
	v := Values{DType: t.DType, Shape: []int64{}, Shown: [][]int64{}}
	count := int64(1)
	for _, a := range sl {
		if !a.Index {
			v.Shape = append(v.Shape, a.Stop-a.Start)
			count *= a.Stop - a.Start
		}
	}
	summarize := count > threshold && edge >= 0
	// per tensor axis, the tensor indices to read
	idx := make([][]int64, len(sl))
	for i, a := range sl {
		n := a.Stop - a.Start
		var ks []int64
		switch {
		case a.Index:
			ks = []int64{a.Start}
		case summarize && n > 2*int64(edge):
			v.Summarized = true
			for k := int64(0); k < int64(edge); k++ {
				ks = append(ks, a.Start+k)
			}
			for k := n - int64(edge); k < n; k++ {
				ks = append(ks, a.Start+k)
			}
		default:
			for k := int64(0); k < n; k++ {
				ks = append(ks, a.Start+k)
			}
		}
		idx[i] = ks
		if !a.Index {
			shown := make([]int64, len(ks))
			for j, k := range ks {
				shown[j] = k - a.Start
			}
			v.Shown = append(v.Shown, shown)
		}
	}
	total := int64(1)
	for _, ks := range idx {
		total *= int64(len(ks))
		if total > MaxShownValues {
			return Values{}, fmt.Errorf("tensor %q: more than %d values to show; take a smaller slice or fewer --edge items", t.Name, MaxShownValues)
		}
	}
	strides := make([]int64, len(shape))
	s := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		strides[i] = s
		s *= shape[i]
	}
	size := int64(t.DType.Size())
	v.Data = make([]float64, 0, total)
	if total == 0 {
		return v, nil
	}
	if t.Data == nil {
		return Values{}, fmt.Errorf("tensor %q: no data", t.Name)
	}
	// Walk the index tuples; the last axis is read as runs of
	// consecutive elements.
	last := len(idx) - 1
	pos := make([]int, len(idx))
	buf := []byte{}
	one := make([]float64, 1)
	for {
		var base int64
		for i := 0; i < last; i++ {
			base += idx[i][pos[i]] * strides[i]
		}
		if last < 0 {
			if err := readRun(t, 0, 1, size, &buf); err != nil {
				return Values{}, err
			}
			dec(one, buf)
			v.Data = append(v.Data, one[0])
			return v, nil
		}
		ks := idx[last]
		for j := 0; j < len(ks); {
			k := j
			for k+1 < len(ks) && ks[k+1] == ks[k]+1 {
				k++
			}
			n := int64(k - j + 1)
			if err := readRun(t, base+ks[j], n, size, &buf); err != nil {
				return Values{}, err
			}
			out := make([]float64, n)
			dec(out, buf)
			v.Data = append(v.Data, out...)
			j = k + 1
		}
		i := last - 1
		for ; i >= 0; i-- {
			pos[i]++
			if pos[i] < len(idx[i]) {
				break
			}
			pos[i] = 0
		}
		if i < 0 {
			return v, nil
		}
	}
}

// readRun reads n elements from element offset off into *buf.
func readRun(t tensor.Tensor, off, n, size int64, buf *[]byte) error {
	if int64(cap(*buf)) < n*size {
		*buf = make([]byte, n*size)
	}
	*buf = (*buf)[:n*size]
	if _, err := t.Data.ReadAt(*buf, off*size); err != nil {
		return fmt.Errorf("tensor %q: reading elements %d..%d: %w", t.Name, off, off+n-1, err)
	}
	return nil
}

// ShortestDigits writes x (finite) with the fewest significant digits
// that read back, rounded to dt, as x (numpy's unique repr of a value of
// that dtype): the mantissa "-1.5" and the decimal exponent, -5 for
// -1.5e-05. Zero is "0" or "-0", exponent 0.
func ShortestDigits(x float64, dt tensor.DType) (mantissa string, exp10 int) {
	if x == 0 {
		if math.Signbit(x) {
			return "-0", 0
		}
		return "0", 0
	}
	f, ok := formatOf(dt)
	for p := 1; p <= 17; p++ {
		s := strconv.FormatFloat(x, 'e', p-1, 64)
		y, _ := strconv.ParseFloat(s, 64)
		if ok && f.round(y) == x || !ok && y == x {
			m, e, _ := strings.Cut(s, "e")
			n, _ := strconv.Atoi(e)
			return m, n
		}
	}
	m, e, _ := strings.Cut(strconv.FormatFloat(x, 'e', -1, 64), "e")
	n, _ := strconv.Atoi(e)
	return m, n
}

// SliceOf is the slice sl of t (ParseSlice) as a tensor of its own: its
// shape drops the indexed axes, and its Data reads only the slice's
// bytes of t's, run by run along the last axis.
func SliceOf(t tensor.Tensor, sl []SliceAxis) (tensor.Tensor, error) {
	if len(sl) != len(t.Shape) {
		return tensor.Tensor{}, fmt.Errorf("tensor %q: a slice of %d dimensions for shape %s", t.Name, len(sl), tensor.FormatShape(t.Shape))
	}
	out := tensor.Tensor{Name: t.Name, DType: t.DType, Shape: []int64{}}
	for _, a := range sl {
		if !a.Index {
			out.Shape = append(out.Shape, a.Stop-a.Start)
		}
	}
	out.Data = &sliceReader{src: t.Data, shape: t.Shape, sl: sl, size: int64(t.DType.Size())}
	return out, nil
}

// sliceReader reads a slice's bytes in C order from the whole tensor's.
type sliceReader struct {
	src   io.ReaderAt
	shape []int64
	sl    []SliceAxis
	size  int64
}

func (r *sliceReader) ReadAt(p []byte, off int64) (int, error) {
	n := len(r.sl)
	run := int64(1) // elements per run: the last axis's range
	if n > 0 {
		run = r.sl[n-1].Stop - r.sl[n-1].Start
	}
	if run == 0 {
		return 0, io.EOF
	}
	runBytes := run * r.size
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		k, within := pos/runBytes, pos%runBytes
		// unravel run k over the outer axes' ranges (last axis first)
		src := int64(0)
		stride := int64(1)
		if n > 0 {
			stride = r.shape[n-1]
			src = r.sl[n-1].Start
		}
		rem := k
		for i := n - 2; i >= 0; i-- {
			w := r.sl[i].Stop - r.sl[i].Start
			if w == 0 {
				return done, io.EOF
			}
			src += (r.sl[i].Start + rem%w) * stride
			rem /= w
			stride *= r.shape[i]
		}
		if rem > 0 {
			return done, io.EOF
		}
		m := min(int64(len(p)-done), runBytes-within)
		got, err := r.src.ReadAt(p[done:done+int(m)], src*r.size+within)
		done += got
		if err != nil && !(err == io.EOF && int64(got) == m) {
			return done, err
		}
	}
	return done, nil
}
