package main

import (
	"math"
	"strconv"
	"strings"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/tensor"
)

// numpyText writes values as numpy's array2string(a, separator=", ")
// does with its default options (precision 8, floatmode maxprec, line
// width 75), for the elements shown: the same digits, padding, wrapping
// and "..." (TestNumpyText checks it against numpy).
func numpyText(v diffing.Values) string {
	f := newNumpyFormat(v)
	if len(v.Shape) == 0 {
		if len(v.Data) == 0 {
			return "[]"
		}
		return f.format(v.Data[0])
	}
	for _, d := range v.Shape {
		if d == 0 {
			return "[]"
		}
	}
	strides := make([]int, len(v.Shown))
	s := 1
	for i := len(v.Shown) - 1; i >= 0; i-- {
		strides[i] = s
		s *= len(v.Shown[i])
	}
	const lineWidth = 75
	const sep = ", "
	var rec func(axis, off int, hanging string, width int) string
	rec = func(axis, off int, hanging string, width int) string {
		if axis == len(v.Shown) {
			return f.format(v.Data[off])
		}
		next := hanging + " "
		nextWidth := width - 1
		shown := v.Shown[axis]
		gap := -1 // "..." goes before shown[gap]
		for k := 1; k < len(shown); k++ {
			if shown[k] != shown[k-1]+1 {
				gap = k
			}
		}
		var b strings.Builder
		if axis == len(v.Shown)-1 {
			elemWidth := width - max(len(strings.TrimRight(sep, " ")), 1)
			line := hanging
			for k := range shown {
				if k == gap {
					line = extendLine(&b, line, "...", elemWidth, hanging)
					line += sep
				}
				w := elemWidth
				word := rec(axis+1, off+k*strides[axis], next, nextWidth)
				line = extendLine(&b, line, word, w, hanging)
				if k < len(shown)-1 {
					line += sep
				}
			}
			b.WriteString(line)
		} else {
			lineSep := strings.TrimRight(sep, " ") + strings.Repeat("\n", len(v.Shown)-axis-1)
			for k := range shown {
				if k == gap {
					b.WriteString(hanging + "..." + lineSep)
				}
				b.WriteString(hanging + rec(axis+1, off+k*strides[axis], next, nextWidth))
				if k < len(shown)-1 {
					b.WriteString(lineSep)
				}
			}
		}
		return "[" + b.String()[len(hanging):] + "]"
	}
	return rec(0, 0, " ", lineWidth)
}

// extendLine is numpy's _extendLine: wrap before word when the line
// would pass width, unless wrapping would not help.
func extendLine(b *strings.Builder, line, word string, width int, prefix string) string {
	if len(line)+len(word) > width && len(line) > len(prefix) {
		b.WriteString(strings.TrimRight(line, " ") + "\n")
		line = prefix
	}
	return line + word
}

// numpyFormat is numpy's FloatingFormat (or its int and bool formats)
// fitted to the values shown.
type numpyFormat struct {
	kind               byte // 'f' float, 'i' integer, 'b' bool
	exp                bool
	padLeft, padRight  int
	precision, expSize int
	dt                 tensor.DType
	boolWidth          int
	intWidth           int
}

func newNumpyFormat(v diffing.Values) numpyFormat {
	f := numpyFormat{dt: v.DType}
	switch {
	case v.DType == tensor.Bool:
		f.kind = 'b'
		f.boolWidth = 5 // numpy: ' True' in an array, 'True' alone
		if len(v.Shape) == 0 {
			f.boolWidth = 4
		}
		return f
	case !v.DType.IsFloat():
		f.kind = 'i'
		for _, x := range v.Data {
			f.intWidth = max(f.intWidth, len(strconv.FormatFloat(x, 'f', -1, 64)))
		}
		return f
	}
	f.kind = 'f'
	var finite []float64
	maxAbs, minAbs := 0.0, math.Inf(1)
	nonFinite, negInf := false, false
	for _, x := range v.Data {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			nonFinite = true
			negInf = negInf || math.IsInf(x, -1)
			continue
		}
		finite = append(finite, x)
		if a := math.Abs(x); a != 0 {
			maxAbs, minAbs = max(maxAbs, a), min(minAbs, a)
		}
	}
	if maxAbs > 0 && (maxAbs >= 1e8 || minAbs < 1e-4 || maxAbs/minAbs > 1e3) {
		f.exp = true
	}
	if len(finite) > 0 {
		for _, x := range finite {
			if f.exp {
				m, e := f.sci(x)
				ip, fp, _ := strings.Cut(m, ".")
				f.padLeft = max(f.padLeft, len(ip))
				f.precision = max(f.precision, len(fp))
				f.expSize = max(f.expSize, len(e)-1)
			} else {
				ip, fp, _ := strings.Cut(f.pos(x), ".")
				f.padLeft = max(f.padLeft, len(ip))
				f.padRight = max(f.padRight, len(fp))
			}
		}
		if f.exp {
			f.padRight = f.expSize + 2 + f.precision
		}
	}
	if nonFinite {
		neg := 0
		if negInf {
			neg = 1
		}
		off := f.padRight + 1
		f.padLeft = max(f.padLeft, 3-off, 3+neg-off)
	}
	return f
}

// pos is x positional, unique digits, at most 8 after the point, "1."
// for a whole number.
func (f numpyFormat) pos(x float64) string {
	m, e := diffing.ShortestDigits(x, f.dt)
	neg := strings.HasPrefix(m, "-")
	digits := strings.ReplaceAll(strings.TrimPrefix(m, "-"), ".", "")
	var ip, fp string
	if e >= 0 {
		if len(digits) <= e+1 {
			ip = digits + strings.Repeat("0", e+1-len(digits))
		} else {
			ip, fp = digits[:e+1], digits[e+1:]
		}
	} else {
		ip, fp = "0", strings.Repeat("0", -e-1)+digits
	}
	if len(fp) > 8 {
		s := strconv.FormatFloat(math.Abs(x), 'f', 8, 64)
		ip, fp, _ = strings.Cut(s, ".")
		fp = strings.TrimRight(fp, "0")
	}
	s := ip + "." + fp
	if neg {
		s = "-" + s
	}
	return s
}

// sci is x in scientific form: the unique mantissa (at most 8 digits
// after the point, "1." when one digit) and the exponent "e+05".
func (f numpyFormat) sci(x float64) (mant, exp string) {
	m, e := diffing.ShortestDigits(x, f.dt)
	ip, fp, _ := strings.Cut(m, ".")
	if len(fp) > 8 {
		s := strconv.FormatFloat(x, 'e', 8, 64)
		ms, es, _ := strings.Cut(s, "e")
		ip, fp, _ = strings.Cut(ms, ".")
		fp = strings.TrimRight(fp, "0")
		e, _ = strconv.Atoi(es)
	}
	sign := "+"
	if e < 0 {
		sign, e = "-", -e
	}
	es := strconv.Itoa(e)
	if len(es) < 2 {
		es = "0" + es
	}
	return ip + "." + fp, sign + es
}

// format writes one element.
func (f numpyFormat) format(x float64) string {
	switch f.kind {
	case 'b':
		s := "True"
		if x == 0 {
			s = "False"
		}
		return strings.Repeat(" ", max(0, f.boolWidth-len(s))) + s
	case 'i':
		s := strconv.FormatFloat(x, 'f', -1, 64)
		return strings.Repeat(" ", max(0, f.intWidth-len(s))) + s
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		s := "nan"
		if math.IsInf(x, 1) {
			s = "inf"
		} else if math.IsInf(x, -1) {
			s = "-inf"
		}
		return strings.Repeat(" ", max(0, f.padLeft+f.padRight+1-len(s))) + s
	}
	if f.exp {
		// numpy pads to the common precision with more digits of the
		// value (dragon4 min_digits), not with zeros.
		ms, es, _ := strings.Cut(strconv.FormatFloat(x, 'e', f.precision, 64), "e")
		ip, fp, _ := strings.Cut(ms, ".")
		e := es
		digits := e[1:]
		if len(digits) < f.expSize {
			digits = strings.Repeat("0", f.expSize-len(digits)) + digits
		}
		return strings.Repeat(" ", max(0, f.padLeft-len(ip))) + ip + "." + fp + "e" + e[:1] + digits
	}
	ip, fp, _ := strings.Cut(f.pos(x), ".")
	return strings.Repeat(" ", max(0, f.padLeft-len(ip))) + ip + "." + fp + strings.Repeat(" ", max(0, f.padRight-len(fp)))
}
