package gguf

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Log is what ParseLog found in llama.cpp output: the model loader's
// tensor list, the converter's tensor list, and eval-callback dumps.
type Log struct {
	Loader    []LogTensor  // llama_model_loader: - tensor N: NAME TYPE [ne0, ne1, ne2, ne3]
	Converter []LogTensor  // INFO:hf-to-gguf:NAME, torch.DTYPE --> TYPE, shape = {ne...}
	Eval      []EvalTensor // common_debug_cb_eval / ggml_debug dumps
}

// LogTensor is one tensor line of a loader or converter log, a manifest
// entry. Shape is in PyTorch order. The loader prints all four ggml
// dimensions, so its trailing 1s are dropped as ggml_n_dims does (a
// [4096, 1] tensor and a [4096] one print alike); the converter prints the
// exact dimensions.
type LogTensor struct {
	Index    int // the loader's tensor number, -1 for converter lines
	Name     string
	TypeName string // as printed ("q4_K", "F16")
	Type     Type   // parsed from TypeName
	Known    bool   // TypeName names a known type
	Shape    []int64
	From     string // converter: the source dtype ("torch.bfloat16")
	Line     int
}

// EvalTensor is one node dumped by llama.cpp's eval callback
// (common/debug.cpp common_debug_cb_eval, formerly examples/eval-callback
// ggml_debug): a partial tensor. Only Values (printed with 4 decimals, the
// first and last 3 along each dimension) and Sum (of the whole tensor,
// accumulated in float32, printed with 6 decimals) are known; a
// comparison must say that only those were compared.
type EvalTensor struct {
	Name     string
	TypeName string // ggml type name ("f32")
	Op       string // ggml_op_desc ("MUL_MAT", "GET_ROWS")
	Sources  []EvalSource
	Dims     []int64 // ggml ne[0..3], innermost first
	Shape    []int64 // PyTorch order: Dims reversed, outer 1s dropped
	Values   []EvalValue
	Sum      float64
	HasSum   bool
	Line     int
}

// EvalSource is an operand named in the dump's header.
type EvalSource struct {
	Name string
	Dims []int64 // ggml order
}

// EvalValue is one printed value. Index is in ggml order (i0 innermost);
// Flat is the row-major (PyTorch) position in the whole tensor.
type EvalValue struct {
	Index [4]int64
	Flat  int64
	Value float64
}

// EvalValueTolerance is half the last printed digit of a dumped value
// (printf "%12.4f").
const EvalValueTolerance = 0.5e-4

// LogBudget bounds ParseLog.
type LogBudget struct {
	MaxLine   int   // bytes in one line
	MaxItems  int   // tensor lines and eval dumps together
	MaxValues int64 // dumped values in all eval dumps together
}

// DefaultLogBudget fits logs of the largest models (a few thousand
// tensors, every node of a few hundred layers dumped).
func DefaultLogBudget() LogBudget {
	return LogBudget{MaxLine: 1 << 20, MaxItems: 1 << 20, MaxValues: 1 << 24}
}

const loaderMark = "llama_model_loader: - tensor"
const converterMark = "INFO:hf-to-gguf:"

// ParseLog reads llama.cpp output (any mix of lines; unrelated lines are
// skipped) and returns the tensor lines and eval dumps found. Malformed
// recognized lines are errors naming file:line.
func ParseLog(r io.Reader, file string, b LogBudget) (*Log, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), b.MaxLine)
	lg := &Log{}
	p := &evalParser{budget: b.MaxValues}
	line := 0
	items := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		var err error
		switch {
		case strings.Contains(text, loaderMark):
			var t LogTensor
			t, err = parseLoaderLine(text)
			t.Line = line
			lg.Loader = append(lg.Loader, t)
			items++
		case strings.Contains(text, converterMark) && strings.Contains(text, " --> "):
			var t LogTensor
			t, err = parseConverterLine(text)
			t.Line = line
			lg.Converter = append(lg.Converter, t)
			items++
		case isEvalHeader(text):
			if err = p.finish(lg); err == nil {
				err = p.start(text, line)
			}
			items++
		case p.cur != nil:
			err = p.body(text, lg)
		}
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", file, line, err)
		}
		if items > b.MaxItems {
			return nil, fmt.Errorf("%s:%d: more than %d tensors", file, line, b.MaxItems)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, line+1, err)
	}
	if err := p.finish(lg); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", file, line, err)
	}
	return lg, nil
}

func typeOf(t *LogTensor) {
	t.Type, t.Known = ParseType(t.TypeName)
}

// parseLoaderLine reads "llama_model_loader: - tensor %4d: %32s %-8s [ %s ]"
// (llama-model-loader.cpp), with any log prefix before it and anything
// after the closing bracket.
func parseLoaderLine(s string) (LogTensor, error) {
	t := LogTensor{}
	s = s[strings.Index(s, loaderMark)+len(loaderMark):]
	num, rest, ok := strings.Cut(s, ":")
	if !ok {
		return t, fmt.Errorf("loader line: no ':' after the tensor number")
	}
	idx, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		return t, fmt.Errorf("loader line: tensor number %q", strings.TrimSpace(num))
	}
	t.Index = idx
	open := strings.IndexByte(rest, '[')
	closing := strings.IndexByte(rest, ']')
	if open < 0 || closing < open {
		return t, fmt.Errorf("loader line: no [dims]")
	}
	f := strings.Fields(rest[:open])
	if len(f) != 2 {
		return t, fmt.Errorf("loader line: want NAME TYPE before [dims], got %q", strings.TrimSpace(rest[:open]))
	}
	t.Name, t.TypeName = f[0], f[1]
	typeOf(&t)
	dims, err := parseDims(rest[open+1 : closing])
	if err != nil {
		return t, fmt.Errorf("loader line: tensor %q: %w", t.Name, err)
	}
	t.Shape = torchShape(dims, true)
	return t, nil
}

// parseConverterLine reads convert_hf_to_gguf.py's
// f"{new_name + ',':<30} {old_dtype} --> {data_qtype.name}, shape = {shape_str}"
// where shape_str lists GGUF dims ({ne0, ne1}).
func parseConverterLine(s string) (LogTensor, error) {
	t := LogTensor{Index: -1}
	s = s[strings.Index(s, converterMark)+len(converterMark):]
	name, rest, ok := strings.Cut(s, ",")
	if !ok {
		return t, fmt.Errorf("converter line: no ',' after the name")
	}
	t.Name = strings.TrimSpace(name)
	from, rest, ok := strings.Cut(rest, " --> ")
	if !ok {
		return t, fmt.Errorf("converter line: tensor %q: no ' --> '", t.Name)
	}
	t.From = strings.TrimSpace(from)
	ty, rest, ok := strings.Cut(rest, ",")
	if !ok {
		return t, fmt.Errorf("converter line: tensor %q: no ', shape = {...}'", t.Name)
	}
	t.TypeName = strings.TrimSpace(ty)
	typeOf(&t)
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "shape = {") || !strings.HasSuffix(rest, "}") {
		return t, fmt.Errorf("converter line: tensor %q: want 'shape = {...}', got %q", t.Name, rest)
	}
	dims, err := parseDims(rest[len("shape = {") : len(rest)-1])
	if err != nil {
		return t, fmt.Errorf("converter line: tensor %q: %w", t.Name, err)
	}
	t.Shape = torchShape(dims, false)
	return t, nil
}

// parseDims reads "4096, 32000, 1, 1" (an empty list is a scalar).
func parseDims(s string) ([]int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []int64{}, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) > 8 {
		return nil, fmt.Errorf("%d dimensions", len(parts))
	}
	dims := make([]int64, len(parts))
	for i, p := range parts {
		d, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("dimension %q", strings.TrimSpace(p))
		}
		dims[i] = d
	}
	return dims, nil
}

// torchShape reverses ggml dims into PyTorch order, first dropping the
// trailing (outer) 1s when the printer padded to four dimensions.
func torchShape(dims []int64, padded bool) []int64 {
	n := len(dims)
	if padded {
		for n > 1 && dims[n-1] == 1 {
			n--
		}
	}
	s := make([]int64, n)
	for i := 0; i < n; i++ {
		s[n-1-i] = dims[i]
	}
	return s
}

func isEvalHeader(s string) bool {
	i := strings.Index(s, ": ")
	if i < 0 {
		return false
	}
	fn := s[:i]
	return (fn == "ggml_debug" || fn == "common_debug_cb_eval") && strings.Contains(s, " = (")
}

// evalParser follows common_debug_print_tensor's nesting: per i3 a "[",
// per i2 a "[", per i1 a "[ v, v, ..., v ]," row, with "..., " lines
// where rows or blocks were elided (n = 3 kept at each end), then
// "sum = %f".
type evalParser struct {
	budget int64 // values left
	cur    *EvalTensor
	depth  int
	i3     int64
	rows   [][]rowTok     // rows of the current i2 block; nil marks an elision
	blocks []pendingBlock // i2 blocks of the current i3 block
}

type rowTok struct {
	gap bool
	v   float64
}

type pendingBlock struct {
	gap  bool // an elided run of i2 blocks
	rows [][]rowTok
}

func (p *evalParser) start(s string, line int) error {
	t := &EvalTensor{Line: line}
	_, rest, _ := strings.Cut(s, ": ")
	name, rest, _ := strings.Cut(rest, " = (")
	t.Name = strings.TrimSpace(name)
	ty, rest, ok := strings.Cut(rest, ") ")
	if !ok {
		return fmt.Errorf("eval dump %q: no ') ' after the type", t.Name)
	}
	t.TypeName = ty
	rest = strings.TrimSpace(rest)
	op, rest, ok := strings.Cut(rest, "(")
	if !ok {
		return fmt.Errorf("eval dump %q: no op(...)", t.Name)
	}
	t.Op = strings.TrimSpace(op)
	k := strings.LastIndex(rest, ") = {")
	if k < 0 || !strings.HasSuffix(rest, "}") {
		return fmt.Errorf("eval dump %q: no ') = {ne}' at the end", t.Name)
	}
	dims, err := parseDims(rest[k+len(") = {") : len(rest)-1])
	if err != nil || len(dims) != 4 {
		return fmt.Errorf("eval dump %q: ne {%s}", t.Name, rest[k+len(") = {"):len(rest)-1])
	}
	n := int64(1)
	for _, d := range dims {
		if d != 0 && n > math.MaxInt64/d {
			return fmt.Errorf("eval dump %q: ne {%s} overflows", t.Name, rest[k+len(") = {"):len(rest)-1])
		}
		n *= d
	}
	t.Dims = dims
	t.Shape = torchShape(dims, true)
	src := rest[:k]
	for {
		o := strings.IndexByte(src, '{')
		c := strings.IndexByte(src, '}')
		if o < 0 || c < o {
			break
		}
		sd, err := parseDims(src[o+1 : c])
		if err != nil {
			return fmt.Errorf("eval dump %q: source dims: %w", t.Name, err)
		}
		nm := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(src[:o]), ","))
		t.Sources = append(t.Sources, EvalSource{Name: nm, Dims: sd})
		src = src[c+1:]
	}
	p.cur = t
	p.depth, p.i3 = 0, 0
	return nil
}

func (p *evalParser) body(s string, lg *Log) error {
	t := p.cur
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil
	case strings.HasPrefix(s, "sum = "):
		v, err := parseNum(strings.TrimPrefix(s, "sum = "))
		if err != nil {
			return fmt.Errorf("eval dump %q: sum: %w", t.Name, err)
		}
		t.Sum, t.HasSum = v, true
		return nil
	case s == "[":
		p.depth++
		switch p.depth {
		case 1:
			p.blocks = nil
		case 2:
			p.rows = nil
		default:
			return fmt.Errorf("eval dump %q: nesting deeper than 3", t.Name)
		}
		return nil
	case s == "]" || s == "],":
		switch p.depth {
		case 2:
			p.blocks = append(p.blocks, pendingBlock{rows: p.rows})
		case 1:
			if err := p.flushI3(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("eval dump %q: unbalanced ]", t.Name)
		}
		p.depth--
		return nil
	case s == "...," || s == "...":
		switch p.depth {
		case 1:
			p.blocks = append(p.blocks, pendingBlock{gap: true})
		case 2:
			p.rows = append(p.rows, nil) // an elided run of rows
		default:
			return fmt.Errorf("eval dump %q: stray ...", t.Name)
		}
		return nil
	case strings.HasPrefix(s, "[") && p.depth == 2:
		body := strings.TrimSuffix(strings.TrimSuffix(s, ","), "]")
		body = strings.TrimPrefix(body, "[")
		var row []rowTok
		for _, f := range strings.Split(body, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if f == "..." {
				row = append(row, rowTok{gap: true})
				continue
			}
			v, err := parseNum(f)
			if err != nil {
				return fmt.Errorf("eval dump %q: value %q", t.Name, f)
			}
			row = append(row, rowTok{v: v})
		}
		if row == nil {
			row = []rowTok{}
		}
		p.rows = append(p.rows, row)
		return nil
	}
	// Any other line ends the dump: the next log line.
	if p.depth != 0 {
		return fmt.Errorf("eval dump %q: unexpected %q inside its values", t.Name, s)
	}
	return p.finish(lg)
}

// assign returns the indices of items listed with an optional elision:
// those before it are 0.., those after it end at n-1.
func assign(before, after int, gap bool, n int64) ([]int64, error) {
	if int64(before+after) > n || (!gap && int64(before) != n) {
		return nil, fmt.Errorf("%d+%d printed for a dimension of %d", before, after, n)
	}
	idx := make([]int64, 0, before+after)
	for i := 0; i < before; i++ {
		idx = append(idx, int64(i))
	}
	for i := 0; i < after; i++ {
		idx = append(idx, n-int64(after)+int64(i))
	}
	return idx, nil
}

func split[T any](items []T, isGap func(T) bool) (before, after []T, gap bool, err error) {
	for _, it := range items {
		if isGap(it) {
			if gap {
				return nil, nil, false, fmt.Errorf("two elisions")
			}
			gap = true
			continue
		}
		if gap {
			after = append(after, it)
		} else {
			before = append(before, it)
		}
	}
	return before, after, gap, nil
}

func (p *evalParser) flushI3() error {
	t := p.cur
	ne := t.Dims
	if p.i3 >= ne[3] {
		return fmt.Errorf("eval dump %q: more blocks than ne[3] = %d", t.Name, ne[3])
	}
	b2, a2, g2, err := split(p.blocks, func(b pendingBlock) bool { return b.gap })
	if err != nil {
		return fmt.Errorf("eval dump %q: %w", t.Name, err)
	}
	i2s, err := assign(len(b2), len(a2), g2, ne[2])
	if err != nil {
		return fmt.Errorf("eval dump %q: ne[2]: %w", t.Name, err)
	}
	for bi, blk := range append(b2, a2...) {
		b1, a1, g1, err := split(blk.rows, func(r []rowTok) bool { return r == nil })
		if err != nil {
			return fmt.Errorf("eval dump %q: %w", t.Name, err)
		}
		i1s, err := assign(len(b1), len(a1), g1, ne[1])
		if err != nil {
			return fmt.Errorf("eval dump %q: ne[1]: %w", t.Name, err)
		}
		for ri, row := range append(b1, a1...) {
			b0, a0, g0, err := split(row, func(r rowTok) bool { return r.gap })
			if err != nil {
				return fmt.Errorf("eval dump %q: %w", t.Name, err)
			}
			i0s, err := assign(len(b0), len(a0), g0, ne[0])
			if err != nil {
				return fmt.Errorf("eval dump %q: ne[0]: %w", t.Name, err)
			}
			if p.budget -= int64(len(i0s)); p.budget < 0 {
				return fmt.Errorf("eval dump %q: more dumped values than the budget", t.Name)
			}
			for ci, tok := range append(b0, a0...) {
				ix := [4]int64{i0s[ci], i1s[ri], i2s[bi], p.i3}
				flat := ((ix[3]*ne[2]+ix[2])*ne[1]+ix[1])*ne[0] + ix[0]
				t.Values = append(t.Values, EvalValue{Index: ix, Flat: flat, Value: tok.v})
			}
		}
	}
	p.i3++
	return nil
}

func (p *evalParser) finish(lg *Log) error {
	if p.cur == nil {
		return nil
	}
	t := p.cur
	p.cur = nil
	if p.depth != 0 {
		return fmt.Errorf("eval dump %q (line %d) ends inside its values", t.Name, t.Line)
	}
	if t.HasSum && p.i3 != t.Dims[3] {
		return fmt.Errorf("eval dump %q (line %d): %d of ne[3] = %d blocks printed", t.Name, t.Line, p.i3, t.Dims[3])
	}
	lg.Eval = append(lg.Eval, *t)
	return nil
}

// parseNum reads printf's %f output, including "nan", "-nan", "inf".
func parseNum(s string) (float64, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "nan", "-nan":
		return math.NaN(), nil
	case "inf":
		return math.Inf(1), nil
	case "-inf":
		return math.Inf(-1), nil
	}
	return strconv.ParseFloat(strings.TrimSpace(s), 64)
}
