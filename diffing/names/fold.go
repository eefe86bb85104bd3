package names

import (
	"slices"
	"strconv"
	"strings"
)

// FoldedName is a group of names that differ only in numeric components,
// written with each varying component as a set:
// "model.layers.{0..31}.self_attn.rotary_emb.inv_freq",
// "model.layers.{0,2,5..7}.mlp.experts.{0..7}.w1.weight".
type FoldedName struct {
	Pattern string   `json:"pattern"`
	Names   []string `json:"names"` // the members, in input order
	Index   []int    `json:"-"`     // positions of the members in the input
}

// Fold folds repeated layer (or expert, or head) indices. A numeric
// component is a dot-separated component of decimal digits without a
// leading zero ("0", "17"; not "007"). Names fold together when they are
// equal apart from numeric components; several numeric positions fold
// independently when the names form a full product, as
// "layers.{0..3}.experts.{0..7}", and otherwise split into several
// patterns. Sets are written in ascending order with runs of three or more
// as a..b: "{0,2,5..7}". A name on its own keeps its plain spelling.
//
// Output is deterministic: groups come in the order of their first member
// in names. Duplicate names are folded once.
func Fold(names []string) []FoldedName {
	return FoldWith(names, nil)
}

// FoldWith is Fold that folds together only names whose key(i) is equal
// (i indexes names), e.g. to keep rows of different shapes apart. A nil key
// folds every name.
func FoldWith(names []string, key func(i int) string) []FoldedName {
	type item struct {
		tmpl  string  // name with numeric components replaced by '#', plus the key
		nums  [][]int // one set per numeric position
		first int
		index []int
		parts []string
	}
	var items []*item
	seen := map[string]bool{}
	for i, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		parts := strings.Split(n, ".")
		var nums [][]int
		var tmpl strings.Builder
		for j, p := range parts {
			if j > 0 {
				tmpl.WriteByte('.')
			}
			if v, ok := ParseIndex(p); ok {
				nums = append(nums, []int{v})
				tmpl.WriteByte('#')
			} else {
				tmpl.WriteString(strings.ReplaceAll(p, "#", "##"))
			}
		}
		if key != nil {
			tmpl.WriteString("\x00" + key(i))
		}
		items = append(items, &item{tmpl: tmpl.String(), nums: nums, first: i, index: []int{i}, parts: parts})
	}

	// Merge within each template, one numeric position at a time, from the
	// innermost out, until nothing changes.
	byTmpl := map[string][]*item{}
	var order []string
	for _, it := range items {
		if _, ok := byTmpl[it.tmpl]; !ok {
			order = append(order, it.tmpl)
		}
		byTmpl[it.tmpl] = append(byTmpl[it.tmpl], it)
	}
	var out []*item
	for _, t := range order {
		group := byTmpl[t]
		npos := len(group[0].nums)
		for changed := true; changed && npos > 0; {
			changed = false
			for p := npos - 1; p >= 0; p-- {
				merged := map[string]*item{}
				var next []*item
				for _, it := range group {
					var k strings.Builder
					for q, set := range it.nums {
						if q != p {
							k.WriteString(formatSet(set))
						}
						k.WriteByte('|')
					}
					if m, ok := merged[k.String()]; ok {
						m.nums[p] = append(m.nums[p], it.nums[p]...)
						m.index = append(m.index, it.index...)
						changed = true
						continue
					}
					merged[k.String()] = it
					next = append(next, it)
				}
				// Sort each merged set once (merging into a sorted set one
				// name at a time was quadratic: 100k layers took minutes).
				for _, it := range next {
					if len(it.nums[p]) > 1 {
						slices.Sort(it.nums[p])
						it.nums[p] = slices.Compact(it.nums[p])
					}
				}
				group = next
			}
		}
		out = append(out, group...)
	}
	slices.SortStableFunc(out, func(a, b *item) int { return a.first - b.first })

	res := make([]FoldedName, len(out))
	for i, it := range out {
		slices.Sort(it.index)
		members := make([]string, len(it.index))
		for j, k := range it.index {
			members[j] = names[k]
		}
		var b strings.Builder
		q := 0
		for j, p := range it.parts {
			if j > 0 {
				b.WriteByte('.')
			}
			if _, ok := ParseIndex(p); ok {
				b.WriteString(formatSet(it.nums[q]))
				q++
			} else {
				b.WriteString(p)
			}
		}
		res[i] = FoldedName{Pattern: b.String(), Names: members, Index: it.index}
	}
	return res
}

// FoldPatterns is Fold returning the patterns only.
func FoldPatterns(names []string) []string {
	f := Fold(names)
	out := make([]string, len(f))
	for i, g := range f {
		out[i] = g.Pattern
	}
	return out
}

// ParseIndex parses a numeric name component (a layer index Fold collapses): decimal digits, no leading
// zero, at most 9 digits.
func ParseIndex(p string) (int, bool) {
	if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return 0, false
		}
	}
	v, _ := strconv.Atoi(p)
	return v, true
}

// formatSet writes a single index plainly and a set as {0,2,5..7}.
func formatSet(set []int) string {
	if len(set) == 1 {
		return strconv.Itoa(set[0])
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(set); {
		j := i
		for j+1 < len(set) && set[j+1] == set[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		switch {
		case j-i >= 2:
			b.WriteString(strconv.Itoa(set[i]) + ".." + strconv.Itoa(set[j]))
		case j == i+1:
			b.WriteString(strconv.Itoa(set[i]) + "," + strconv.Itoa(set[j]))
		default:
			b.WriteString(strconv.Itoa(set[i]))
		}
		i = j + 1
	}
	b.WriteByte('}')
	return b.String()
}
