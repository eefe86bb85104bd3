package tensorfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/refcmp/refcmp/internal/fileio"
	"github.com/refcmp/refcmp/tensor"
)

// maxManifestSize bounds how much of a file is read as a manifest.
const maxManifestSize = 1 << 30

// ReadManifest reads a loaded-weights manifest (see ParseManifest).
func ReadManifest(path string) (tensor.Listing, error) {
	data, err := fileio.ReadFile(path, maxManifestSize, "a weights manifest")
	if err != nil {
		return tensor.Listing{}, err
	}
	return ParseManifest(path, bytes.NewReader(data))
}

// ParseManifest parses a loaded-weights manifest: the list of weights a
// port actually loaded, in text or JSON. source names the input in errors
// and in the listing.
//
// Text has one weight per line: the name, then optionally a shape and a
// dtype, in either order, separated by spaces, tabs, commas or colons.
// Shapes may be written [4096, 32000], (4096, 32000), (4096,),
// torch.Size([4096, 32000]), 4096x32000 or 4096 (one dimension); [], ()
// and torch.Size([]) are scalars. Dtypes may be written in any spelling
// tensor.ParseDType accepts (F32, float32, torch.float32, f32, BF16,
// bfloat16, dtype('float32')...). "shape=" / "dtype=" labels are allowed.
// So the output of
//
//	for n, p in model.named_parameters(): print(n, p.shape, p.dtype)
//
// is a manifest as is. Lines starting with '#' and blank lines are
// skipped, and so is anything after " #" on a line. CRLF line ends and a
// UTF-8 byte order mark are accepted. A name ends at the first space, tab
// or comma, or at a colon followed by a space, '[' or '(' (so TensorFlow
// names such as "dense/kernel:0" keep their colon).
//
// JSON is one of: a list of names; a list of {"name", "shape", "dtype"}
// objects; an object mapping each name to its shape; an object mapping
// each name to {"shape": ..., "dtype": ...} (a safetensors header dumped
// as JSON is one: "__metadata__" is skipped, other keys are ignored).
// A shape may be a list of integers, a string in any text spelling, or
// null (unknown).
//
// A weight without a shape has Shape nil; without a dtype, DType Unknown.
// Errors carry the place: "path:LINE: ...". A name listed twice is an
// error.
func ParseManifest(source string, r io.Reader) (tensor.Listing, error) {
	data, err := fileio.ReadAll(source, r, maxManifestSize, "a weights manifest")
	if err != nil {
		return tensor.Listing{}, err
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		return tensor.Listing{}, fmt.Errorf("%s:%d: not UTF-8 text: not a weights manifest (nor a tensor file refcmp recognises)", source, lineOf(data, firstInvalidUTF8(data)))
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	var l tensor.Listing
	if len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{') {
		l, err = parseJSONManifest(source, data)
	} else {
		l, err = parseTextManifest(source, data)
	}
	if err != nil {
		return tensor.Listing{}, err
	}
	if len(l.Weights) == 0 {
		l.Notes = append(l.Notes, "the manifest lists no weights")
	}
	return l, nil
}

// LooksLikeManifest reports whether the first bytes of a file look like a
// weights manifest: UTF-8 text without control characters whose first
// line that is not blank or a comment parses as a manifest line, or JSON
// that opens with '[' or '{' (but not a safetensors index, which has
// "weight_map"). head may end mid-line; an incomplete last line is not
// judged.
func LooksLikeManifest(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	// Allow a rune cut at the end.
	valid := head
	for k := 0; k < utf8.UTFMax && len(valid) > 0 && !utf8.Valid(valid); k++ {
		valid = valid[:len(valid)-1]
	}
	if !utf8.Valid(valid) {
		return false
	}
	for _, c := range valid {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7f {
			return false
		}
	}
	trimmed := bytes.TrimLeft(valid, " \t\r\n")
	if len(trimmed) == 0 {
		return false
	}
	if trimmed[0] == '[' || trimmed[0] == '{' {
		return !bytes.Contains(trimmed, []byte(`"weight_map"`))
	}
	lines := bytes.Split(valid, []byte("\n"))
	for i, ln := range lines {
		s := cleanLine(string(ln))
		if s == "" {
			continue
		}
		if _, err := parseManifestLine(s); err == nil {
			return true
		}
		// The last line may be cut short: judge its name only.
		return i == len(lines)-1 && nameEnd(s) > 0
	}
	// Only comments and blanks so far.
	return bytes.HasPrefix(trimmed, []byte("#"))
}

func firstInvalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

func lineOf(b []byte, off int) int {
	if off > len(b) {
		off = len(b)
	}
	return 1 + bytes.Count(b[:off], []byte("\n"))
}

// lineCounter is lineOf for ascending offsets, counting each newline
// once (lineOf for every entry of a large JSON manifest was quadratic).
type lineCounter struct {
	b    []byte
	off  int // newlines before off are counted
	line int // the line off is on
}

func (c *lineCounter) at(off int) int {
	off = min(off, len(c.b))
	if off < c.off {
		return lineOf(c.b, off)
	}
	c.line += bytes.Count(c.b[c.off:off], []byte("\n"))
	c.off = off
	return c.line
}

// cleanLine drops the CR, a trailing " #" comment and surrounding space;
// comment lines come back empty.
func cleanLine(s string) string {
	s = strings.TrimRight(s, "\r")
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "#") {
		return ""
	}
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			s = strings.TrimSpace(s[:i])
			break
		}
	}
	return s
}

func parseTextManifest(source string, data []byte) (tensor.Listing, error) {
	l := tensor.Listing{Source: source}
	firstLine := map[string]int{}
	for n, raw := range strings.Split(string(data), "\n") {
		line := cleanLine(raw)
		if line == "" {
			continue
		}
		w, err := parseManifestLine(line)
		if err != nil {
			return tensor.Listing{}, fmt.Errorf("%s:%d: %w", source, n+1, err)
		}
		if first, dup := firstLine[w.Name]; dup {
			return tensor.Listing{}, fmt.Errorf("%s:%d: %q is listed twice (first on line %d)", source, n+1, w.Name, first)
		}
		firstLine[w.Name] = n + 1
		l.Weights = append(l.Weights, w)
	}
	return l, nil
}

// parseManifestLine parses one cleaned, nonempty text line.
func parseManifestLine(line string) (tensor.Info, error) {
	end := nameEnd(line)
	name := line[:end]
	rest := line[end:]
	if len(name) >= 2 && (name[0] == '"' || name[0] == '\'') && name[len(name)-1] == name[0] {
		name = name[1 : len(name)-1]
	}
	if name == "" {
		return tensor.Info{}, fmt.Errorf("no weight name before %q", strings.TrimSpace(rest))
	}
	w := tensor.Info{Name: name}
	var haveShape, haveDType bool
	for {
		rest = strings.TrimLeft(rest, " \t,:;|")
		if rest == "" {
			break
		}
		// Optional labels: "shape=", "dtype:", "size=".
		if lab, after, ok := cutLabel(rest); ok {
			rest = after
			if strings.TrimLeft(rest, " \t") == "" {
				return tensor.Info{}, fmt.Errorf("%q label without a value", lab)
			}
			continue
		}
		var tok string
		var shape []int64
		var err error
		isShape := true
		switch {
		case strings.HasPrefix(rest, "torch.Size("):
			tok, rest, err = cutBalanced(rest, len("torch.Size"))
			if err == nil {
				inner := strings.TrimSpace(tok[len("torch.Size(") : len(tok)-1])
				if inner == "" {
					shape = []int64{}
				} else if inner[0] != '[' || inner[len(inner)-1] != ']' {
					err = fmt.Errorf("bad shape %q: want torch.Size([...])", tok)
				} else {
					shape, err = parseDimList(tok, inner[1:len(inner)-1])
				}
			}
		case rest[0] == '[' || rest[0] == '(':
			tok, rest, err = cutBalanced(rest, 0)
			if err == nil {
				shape, err = parseDimList(tok, tok[1:len(tok)-1])
			}
		case rest[0] >= '0' && rest[0] <= '9':
			tok, rest = cutWord(rest)
			shape, err = parseXShape(tok)
		default:
			isShape = false
			tok, rest = cutWord(rest)
			var dt tensor.DType
			dt, err = parseDTypeWord(tok)
			if err == nil {
				if haveDType {
					return tensor.Info{}, fmt.Errorf("two dtypes: %s and %q", w.DType, tok)
				}
				haveDType, w.DType = true, dt
			}
		}
		if err != nil {
			return tensor.Info{}, err
		}
		if isShape {
			if haveShape {
				return tensor.Info{}, fmt.Errorf("two shapes: %s and %q", tensor.FormatShape(w.Shape), tok)
			}
			if err := checkNumel(shape); err != nil {
				return tensor.Info{}, fmt.Errorf("shape %q: %w", tok, err)
			}
			haveShape, w.Shape = true, shape
		}
	}
	return w, nil
}

// nameEnd finds where the name ends: at a space, tab or comma, or at a
// colon followed by a space, tab, '[', '(' or the end of the line.
func nameEnd(line string) int {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case ' ', '\t', ',':
			return i
		case ':':
			if i+1 == len(line) {
				return i
			}
			switch line[i+1] {
			case ' ', '\t', '[', '(':
				return i
			}
		}
	}
	return len(line)
}

func cutLabel(s string) (label, rest string, ok bool) {
	for _, lab := range []string{"shape", "dtype", "size"} {
		if len(s) > len(lab) && strings.EqualFold(s[:len(lab)], lab) {
			after := strings.TrimLeft(s[len(lab):], " \t")
			if after != "" && (after[0] == '=' || after[0] == ':') {
				return lab, after[1:], true
			}
		}
	}
	return "", s, false
}

// cutWord cuts a token ending at a space, tab, comma or semicolon.
func cutWord(s string) (string, string) {
	i := strings.IndexAny(s, " \t,;")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

// cutBalanced cuts s[:k] plus the bracketed group that opens at s[k].
func cutBalanced(s string, k int) (string, string, error) {
	depth := 0
	for i := k; i < len(s); i++ {
		switch s[i] {
		case '[', '(':
			depth++
		case ']', ')':
			depth--
			if depth == 0 {
				return s[:i+1], s[i+1:], nil
			}
			if depth < 0 {
				return "", "", fmt.Errorf("bad shape %q: unbalanced %q", s[:i+1], s[i])
			}
		}
	}
	return "", "", fmt.Errorf("bad shape %q: no closing bracket", s)
}

// parseDimList parses "4096, 32000" (trailing comma allowed) from tok.
func parseDimList(tok, inner string) ([]int64, error) {
	if (tok[0] == '[') != (tok[len(tok)-1] == ']') {
		return nil, fmt.Errorf("bad shape %q: mismatched brackets", tok)
	}
	inner = strings.TrimSpace(inner)
	if inner == "" {
		return []int64{}, nil
	}
	parts := strings.Split(inner, ",")
	if strings.TrimSpace(parts[len(parts)-1]) == "" {
		parts = parts[:len(parts)-1]
	}
	shape := make([]int64, 0, len(parts))
	for _, p := range parts {
		p = strings.TrimSpace(p)
		d, err := parseDim(p)
		if err != nil {
			return nil, fmt.Errorf("bad shape %q: %w", tok, err)
		}
		shape = append(shape, d)
	}
	return shape, nil
}

// parseXShape parses 4096x32000 (or one bare dimension).
func parseXShape(tok string) ([]int64, error) {
	parts := strings.FieldsFunc(tok, func(r rune) bool { return r == 'x' || r == 'X' || r == '×' })
	if len(parts) == 0 || strings.Count(tok, "x")+strings.Count(tok, "X")+strings.Count(tok, "×") != len(parts)-1 {
		return nil, fmt.Errorf("bad shape %q: want a shape like [4096, 32000], (4096, 32000) or 4096x32000", tok)
	}
	shape := make([]int64, 0, len(parts))
	for _, p := range parts {
		d, err := parseDim(p)
		if err != nil {
			return nil, fmt.Errorf("bad shape %q: %w", tok, err)
		}
		shape = append(shape, d)
	}
	return shape, nil
}

func parseDim(p string) (int64, error) {
	if p == "" {
		return 0, errors.New("empty dimension")
	}
	d, err := strconv.ParseInt(p, 10, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("dimension %s is too large", p)
		}
		return 0, fmt.Errorf("%q is not a dimension", p)
	}
	if d < 0 {
		return 0, fmt.Errorf("negative dimension %d", d)
	}
	return d, nil
}

func checkNumel(shape []int64) error {
	if len(shape) > 64 {
		return fmt.Errorf("%d dimensions (at most 64)", len(shape))
	}
	if n, ok := tensor.Numel(shape); !ok && n > 0 { // saturated: overflow
		return errors.New("more than 2^63 elements")
	}
	return nil
}

// parseDTypeWord parses a dtype token, also in numpy's dtype('float32')
// and <class 'numpy.float32'> forms.
func parseDTypeWord(tok string) (tensor.DType, error) {
	s := tok
	if strings.HasPrefix(s, "dtype(") && strings.HasSuffix(s, ")") {
		s = strings.Trim(s[len("dtype("):len(s)-1], `'"`)
	}
	dt, err := tensor.ParseDType(s)
	if err != nil {
		return 0, fmt.Errorf("%q after the name is neither a shape (like [4096, 32000]) nor a dtype (like float32)", tok)
	}
	return dt, nil
}

// ---- JSON ----

func parseJSONManifest(source string, data []byte) (tensor.Listing, error) {
	l := tensor.Listing{Source: source}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	place := func(off int64) string { return fmt.Sprintf("%s:%d", source, lineOf(data, int(off))) }
	jsonErr := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s: bad JSON: %v", place(se.Offset), err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: bad JSON: %v", place(te.Offset), err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: bad JSON: unexpected end of input", place(int64(len(data))))
		}
		return fmt.Errorf("%s: bad JSON: %v", place(dec.InputOffset()), err)
	}
	seen := map[string]int{}
	lines := lineCounter{b: data, line: 1}
	add := func(w tensor.Info, off int64) error {
		line := lines.at(int(off))
		if w.Name == "" {
			return fmt.Errorf("%s:%d: empty weight name", source, line)
		}
		if first, dup := seen[w.Name]; dup {
			return fmt.Errorf("%s:%d: %q is listed twice (first on line %d)", source, line, w.Name, first)
		}
		seen[w.Name] = line
		l.Weights = append(l.Weights, w)
		return nil
	}
	tok, err := dec.Token()
	if err != nil {
		return tensor.Listing{}, jsonErr(err)
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			off := dec.InputOffset()
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return tensor.Listing{}, jsonErr(err)
			}
			w, err := jsonListEntry(raw)
			if err != nil {
				return tensor.Listing{}, fmt.Errorf("%s: entry %d: %w", place(off+int64(leadingSpace(data[off:]))), len(l.Weights)+1, err)
			}
			if err := add(w, off+int64(leadingSpace(data[off:]))); err != nil {
				return tensor.Listing{}, err
			}
		}
	case json.Delim('{'):
		for dec.More() {
			ktok, err := dec.Token()
			if err != nil {
				return tensor.Listing{}, jsonErr(err)
			}
			name, _ := ktok.(string)
			off := dec.InputOffset()
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return tensor.Listing{}, jsonErr(err)
			}
			if name == "__metadata__" {
				continue
			}
			w, err := jsonObjectEntry(name, raw)
			if err != nil {
				return tensor.Listing{}, fmt.Errorf("%s: weight %q: %w", place(off), name, err)
			}
			if err := add(w, off); err != nil {
				return tensor.Listing{}, err
			}
		}
	default:
		return tensor.Listing{}, fmt.Errorf("%s: JSON manifest must be a list or an object", place(0))
	}
	if _, err := dec.Token(); err != nil {
		return tensor.Listing{}, jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return tensor.Listing{}, fmt.Errorf("%s: unexpected data after the JSON value", place(dec.InputOffset()))
	}
	return l, nil
}

func leadingSpace(b []byte) int {
	n := 0
	for n < len(b) && (b[n] == ' ' || b[n] == '\t' || b[n] == '\r' || b[n] == '\n' || b[n] == ',') {
		n++
	}
	return n
}

// jsonListEntry parses an entry of a JSON list: a name or an object with
// "name" and optional "shape" and "dtype".
func jsonListEntry(raw json.RawMessage) (tensor.Info, error) {
	var name string
	if err := json.Unmarshal(raw, &name); err == nil {
		return tensor.Info{Name: name}, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return tensor.Info{}, errors.New("want a name or an object with \"name\", \"shape\", \"dtype\"")
	}
	nraw, ok := obj["name"]
	if !ok {
		return tensor.Info{}, errors.New("object without \"name\"")
	}
	if err := json.Unmarshal(nraw, &name); err != nil {
		return tensor.Info{}, errors.New("\"name\" is not a string")
	}
	return jsonShapeDType(name, obj)
}

// jsonObjectEntry parses the value for name in a JSON object manifest: a
// shape, or an object with "shape" and "dtype".
func jsonObjectEntry(name string, raw json.RawMessage) (tensor.Info, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return tensor.Info{}, err
		}
		return jsonShapeDType(name, obj)
	}
	shape, err := jsonShape(raw)
	if err != nil {
		return tensor.Info{}, err
	}
	return tensor.Info{Name: name, Shape: shape}, nil
}

func jsonShapeDType(name string, obj map[string]json.RawMessage) (tensor.Info, error) {
	w := tensor.Info{Name: name}
	if raw, ok := obj["shape"]; ok {
		shape, err := jsonShape(raw)
		if err != nil {
			return tensor.Info{}, err
		}
		w.Shape = shape
	}
	if raw, ok := obj["dtype"]; ok && string(bytes.TrimSpace(raw)) != "null" {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return tensor.Info{}, errors.New("\"dtype\" is not a string")
		}
		dt, err := parseDTypeWord(s)
		if err != nil {
			return tensor.Info{}, fmt.Errorf("unknown dtype %q", s)
		}
		w.DType = dt
	}
	return w, nil
}

// jsonShape parses a shape value: a list of non-negative integers, a
// string in a text spelling, or null (unknown).
func jsonShape(raw json.RawMessage) ([]int64, error) {
	trimmed := bytes.TrimSpace(raw)
	if string(trimmed) == "null" {
		return nil, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		w, err := parseManifestLine("x " + s)
		if err != nil || w.Shape == nil || w.DType != tensor.Unknown {
			return nil, fmt.Errorf("bad shape %q", s)
		}
		return w.Shape, nil
	}
	var nums []json.Number
	if err := json.Unmarshal(raw, &nums); err != nil {
		return nil, fmt.Errorf("bad shape %s: want a list of integers", truncate(string(trimmed), 40))
	}
	shape := make([]int64, len(nums))
	for i, n := range nums {
		d, err := parseDim(n.String())
		if err != nil {
			return nil, fmt.Errorf("bad shape %s: %w", truncate(string(trimmed), 40), err)
		}
		shape[i] = d
	}
	if err := checkNumel(shape); err != nil {
		return nil, fmt.Errorf("bad shape %s: %w", truncate(string(trimmed), 40), err)
	}
	return shape, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
