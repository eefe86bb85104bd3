package diffing

import (
	"cmp"
	"math"
	"slices"
)

// Pictures of a failing pair are drawn from aggregates gathered while the
// pair streams by, chunk by chunk: a max-pooled grid of |d| over two axes,
// a histogram of |d| by decade, and a bounded sample of (ref, ours)
// pairs. Their memory is fixed by the shape's rank, not its size, and
// they do not depend on the order chunks are fed in: maxima, counts, and
// a sample chosen by a hash of the position.

// Picture is what the pictures of one pair are drawn from: plain data.
type Picture struct {
	Name  string
	Shape []int64
	// Heat is the pooled |d| grid; nil when fewer than two axes are
	// longer than 1.
	Heat *HeatGrid
	// Hist counts the finite pairs' |d| by decade, from the lowest to
	// the highest decade that occurs (a first bin [0, 0] holds the exact
	// matches); NonFinite counts the other pairs.
	Hist      []PictureBin
	NonFinite int64
	// Sample is up to SampleSize pairs chosen by a hash of their offset
	// (so the same whatever the order or parallelism of the pass), the
	// mismatching ones among them favored; ascending by offset.
	Sample []SamplePoint
	// The element rule the mismatches are counted by:
	// |ours - ref| <= Atol + Rtol * |ref| (Exact: any difference).
	Atol, Rtol float64
	Exact      bool
	// RefAbsMax is max |ref| over finite ref elements (0 if none).
	RefAbsMax  float64
	Elems      int64 // elements fed
	Mismatched int64 // of them, mismatching
}

// PictureBin is one decade of the |d| histogram: Lo <= |d| < Hi.
type PictureBin struct {
	Lo, Hi     float64
	Count      int64
	Mismatched int64 // of Count, elements breaking the rule
}

// SamplePoint is one sampled pair.
type SamplePoint struct {
	Offset   int64
	Ref      float64
	Ours     float64
	Mismatch bool
}

// Sample sizes: SampleSize pairs in all, of which up to sampleMisSize
// are picked among the mismatching ones.
const (
	SampleSize    = 2048
	sampleMisSize = 512
)

// Grid bounds: rows and columns of a HeatGrid, and the axes considered.
const (
	HeatMaxRows = 64
	HeatMaxCols = 128
	heatMaxAxes = 6 // the last 6 axes longer than 1; earlier ones are reduced
)

// pictureAcc gathers a Picture from decoded chunks.
type pictureAcc struct {
	shape    []int64
	axes     []int      // axes longer than 1 that get a grid (ascending)
	grids    []gridAcc  // one per pair of axes (i < j in axes)
	rs, cs   [][]int64  // per axis of shape: row and column bin starts (nil if not in axes)
	hist     [2][]int64 // [0] all finite pairs, [1] mismatching, by histogram bin
	nonFin   int64
	elems    int64
	mis      int64
	refMax   float64
	sample   bottomK
	misSamp  bottomK
	dec      *decades
	atol     float64
	rtol     float64
	exact    bool
	equalNaN bool
	// per-visit scratch
	idx, rb, cb []int64
}

// gridAcc is the |d| grid over one pair of axes.
type gridAcc struct {
	row, col   int // axes of shape
	rows, cols int
	max        []float64
	mis        []int64
}

func newPictureAcc(shape []int64, atol, rtol float64, exact, equalNaN bool) *pictureAcc {
	p := &pictureAcc{shape: shape, atol: atol, rtol: rtol, exact: exact, equalNaN: equalNaN,
		dec: newDecades(), sample: bottomK{k: SampleSize}, misSamp: bottomK{k: sampleMisSize}}
	p.hist[0], p.hist[1] = make([]int64, histLen), make([]int64, histLen)
	for a, d := range shape {
		if d > 1 {
			p.axes = append(p.axes, a)
		}
	}
	if len(p.axes) > heatMaxAxes {
		p.axes = p.axes[len(p.axes)-heatMaxAxes:]
	}
	nd := len(shape)
	p.rs, p.cs = make([][]int64, nd), make([][]int64, nd)
	for _, a := range p.axes {
		p.rs[a] = binStarts(shape[a], HeatMaxRows)
		p.cs[a] = binStarts(shape[a], HeatMaxCols)
	}
	if len(p.axes) >= 2 {
		for i, a := range p.axes {
			for _, b := range p.axes[i+1:] {
				g := gridAcc{row: a, col: b, rows: len(p.rs[a]) - 1, cols: len(p.cs[b]) - 1}
				g.max = make([]float64, g.rows*g.cols)
				g.mis = make([]int64, g.rows*g.cols)
				p.grids = append(p.grids, g)
			}
		}
	}
	p.idx, p.rb, p.cb = make([]int64, nd), make([]int64, nd), make([]int64, nd)
	return p
}

// binStarts splits [0, d) into min(d, n) nearly equal bins: the start of
// each, and d.
func binStarts(d int64, n int) []int64 {
	k := int(min(d, int64(n)))
	out := make([]int64, k+1)
	for i := range out {
		out[i] = int64(i) * d / int64(k)
	}
	return out
}

// binOfIndex is the bin of index v among starts.
func binOfIndex(starts []int64, v int64) int64 {
	i, found := slices.BinarySearch(starts, v)
	if !found {
		i--
	}
	return int64(i)
}

// visit feeds the decoded elements ref[i], ours[i] at flat offsets
// off+i. Chunks may come in any order; each element must come once.
func (p *pictureAcc) visit(off int64, ref, ours []float64) {
	n := len(ref)
	if n == 0 {
		return
	}
	ours = ours[:n]
	p.elems += int64(n)
	// The multi-index of off, and its bins.
	idx := p.idx
	rem := off
	for a := len(p.shape) - 1; a >= 0; a-- {
		d := p.shape[a]
		idx[a] = rem % d
		rem /= d
		if p.rs[a] != nil {
			p.rb[a] = binOfIndex(p.rs[a], idx[a])
			p.cb[a] = binOfIndex(p.cs[a], idx[a])
		}
	}
	last := len(p.shape) - 1
	for i, x := range ref {
		y := ours[i]
		ad := math.Abs(y - x)
		finite := x-x == 0 && y-y == 0
		var mis bool
		switch {
		case p.exact:
			mis = math.Float64bits(x) != math.Float64bits(y) && !(x != x && y != y)
		case finite:
			mis = ad > allowance(p.atol, p.rtol, math.Abs(x))
		default:
			mis = !(x == y || p.equalNaN && x != x && y != y)
		}
		if finite {
			b := p.dec.binOf(ad)
			p.hist[0][b]++
			if mis {
				p.hist[1][b]++
			}
		} else {
			p.nonFin++
			if mis {
				ad = math.Inf(1)
			} else {
				ad = 0
			}
		}
		if x-x == 0 {
			p.refMax = max(p.refMax, math.Abs(x))
		}
		o := off + int64(i)
		h := mix64(uint64(o))
		if mis {
			p.mis++
			p.misSamp.add(h, SamplePoint{Offset: o, Ref: x, Ours: y, Mismatch: true})
		} else {
			p.sample.add(h, SamplePoint{Offset: o, Ref: x, Ours: y})
		}
		if ad > 0 || mis {
			for k := range p.grids {
				g := &p.grids[k]
				c := p.rb[g.row]*int64(g.cols) + p.cb[g.col]
				if ad > g.max[c] {
					g.max[c] = ad
				}
				if mis {
					g.mis[c]++
				}
			}
		}
		// Next index, C order, and its bins.
		for a := last; a >= 0; a-- {
			idx[a]++
			if idx[a] < p.shape[a] {
				if rs := p.rs[a]; rs != nil {
					if idx[a] == rs[p.rb[a]+1] {
						p.rb[a]++
					}
					if idx[a] == p.cs[a][p.cb[a]+1] {
						p.cb[a]++
					}
				}
				break
			}
			idx[a], p.rb[a], p.cb[a] = 0, 0, 0
		}
	}
}

// merge adds q (fed other elements of the same pair) into p.
func (p *pictureAcc) merge(q *pictureAcc) {
	for k := range p.grids {
		g, h := &p.grids[k], &q.grids[k]
		for c, v := range h.max {
			g.max[c] = max(g.max[c], v)
			g.mis[c] += h.mis[c]
		}
	}
	for j := range p.hist {
		for i, c := range q.hist[j] {
			p.hist[j][i] += c
		}
	}
	p.nonFin += q.nonFin
	p.elems += q.elems
	p.mis += q.mis
	p.refMax = max(p.refMax, q.refMax)
	for _, e := range q.sample.items {
		p.sample.add(e.h, e.pt)
	}
	for _, e := range q.misSamp.items {
		p.misSamp.add(e.h, e.pt)
	}
}

// picture is what p gathered. The mismatching sample takes its share;
// the rest of SampleSize is filled from the other pairs.
func (p *pictureAcc) picture(name string) Picture {
	pic := Picture{Name: name, Shape: slices.Clone(p.shape), NonFinite: p.nonFin,
		Atol: p.atol, Rtol: p.rtol, Exact: p.exact, RefAbsMax: p.refMax, Elems: p.elems, Mismatched: p.mis}
	pic.Heat = p.bestGrid()
	// Histogram: the zero bin, then every decade from the lowest to the
	// highest that occurs.
	all, mis := p.hist[0], p.hist[1]
	if all[0] > 0 {
		pic.Hist = append(pic.Hist, PictureBin{Count: all[0], Mismatched: mis[0]})
	}
	first, last := -1, -1
	for i := 1; i < len(all); i++ {
		if all[i] > 0 {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	for i := first; first >= 0 && i <= last; i++ {
		k := i - 1 + histMinDecade
		pic.Hist = append(pic.Hist, PictureBin{Lo: pow10(k), Hi: pow10(k + 1), Count: all[i], Mismatched: mis[i]})
	}
	var pts []SamplePoint
	for _, e := range p.misSamp.items {
		pts = append(pts, e.pt)
	}
	rest := slices.Clone(p.sample.items)
	slices.SortFunc(rest, cmpKeyed)
	for _, e := range rest {
		if len(pts) == SampleSize {
			break
		}
		pts = append(pts, e.pt)
	}
	slices.SortFunc(pts, func(a, b SamplePoint) int { return cmp.Compare(a.Offset, b.Offset) })
	pic.Sample = pts
	return pic
}

// bestGrid picks the grid whose axes carry the structure of the
// mismatches: the smallest share of cells holding a mismatch (a stripe,
// a diagonal or a block covers few cells over the right pair of axes,
// and most cells over a pair it is spread across), among grids with
// any; ties go to the grid with more cells, then to the later axes.
// With no mismatch, the grid of the last two axes, by |d|.
func (p *pictureAcc) bestGrid() *HeatGrid {
	if len(p.grids) == 0 {
		return nil
	}
	best, bestShare := len(p.grids)-1, 2.0
	for k := range p.grids {
		g := &p.grids[k]
		hot := 0
		for _, m := range g.mis {
			hot += int(b2i(m > 0))
		}
		if hot == 0 {
			continue
		}
		share := float64(hot) / float64(len(g.mis))
		b := &p.grids[best]
		better := share < bestShare-1e-12
		if math.Abs(share-bestShare) <= 1e-12 {
			better = len(g.mis) > len(b.mis) || len(g.mis) == len(b.mis) && (g.col > b.col || g.col == b.col && g.row > b.row)
		}
		if better {
			best, bestShare = k, share
		}
	}
	g := &p.grids[best]
	return &HeatGrid{Shape: slices.Clone(p.shape), RowAxis: g.row, ColAxis: g.col,
		RowStart: slices.Clone(p.rs[g.row]), ColStart: slices.Clone(p.cs[g.col]),
		Max: slices.Clone(g.max), Mis: slices.Clone(g.mis)}
}

// mix64 is splitmix64's finalizer: the sample key of an offset.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// keyed is a sample point and its key.
type keyed struct {
	h  uint64
	pt SamplePoint
}

func cmpKeyed(a, b keyed) int {
	switch {
	case a.h < b.h:
		return -1
	case a.h > b.h:
		return 1
	}
	return cmp.Compare(a.pt.Offset, b.pt.Offset)
}

// bottomK keeps the k points of smallest key: the same set whatever the
// order they come in. items is a max-heap by key.
type bottomK struct {
	k     int
	items []keyed
}

func (s *bottomK) add(h uint64, pt SamplePoint) {
	e := keyed{h, pt}
	if len(s.items) < s.k {
		s.items = append(s.items, e)
		s.up(len(s.items) - 1)
		return
	}
	if s.k == 0 || cmpKeyed(e, s.items[0]) >= 0 {
		return
	}
	s.items[0] = e
	s.down(0)
}

func (s *bottomK) up(i int) {
	for i > 0 {
		j := (i - 1) / 2
		if cmpKeyed(s.items[i], s.items[j]) <= 0 {
			return
		}
		s.items[i], s.items[j] = s.items[j], s.items[i]
		i = j
	}
}

func (s *bottomK) down(i int) {
	n := len(s.items)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		j := l
		if r := l + 1; r < n && cmpKeyed(s.items[r], s.items[l]) > 0 {
			j = r
		}
		if cmpKeyed(s.items[j], s.items[i]) <= 0 {
			return
		}
		s.items[i], s.items[j] = s.items[j], s.items[i]
		i = j
	}
}
