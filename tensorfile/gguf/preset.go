package gguf

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The built-in presets, one file per architecture family.
//
//go:embed presets/*.preset
var presetFS embed.FS

// A Preset maps Hugging Face tensor names to GGUF names and says which
// value transforms a correct conversion applies, as data. The format is
// text, one directive a line, '#' starts a comment:
//
//	preset NAME                     the preset's name (first directive)
//	arch GGUF_ARCH                  general.architecture of files it fits
//	param NAME GGUF_KEY HF_KEY      a number read from GGUF metadata or config.json
//	onedim f32                      1-D tensors are stored as F32
//	map HF GGUF [OPTION...]         a name rule; {N} is the layer, {E} the expert
//	drop HF                         an HF tensor the conversion leaves out
//	extra GGUF                      a GGUF tensor the conversion generates
//
// map options:
//
//	permute=PARAM   Q/K rows permuted for NORM RoPE:
//	                w.reshape(n, 2, rows/n/2, cols).swapaxes(1, 2), n = PARAM
//	add=X           GGUF holds HF + X (Gemma's norms: add=1)
//	stack           the {E} tensors are stacked along PyTorch dim 0
//	fused=a,b,...   one tensor holding the named parts along dim 0, in order
//	tied=HF         absent from either side when tied to HF (a tied head)
//
// Names are matched whole; {N} and {E} match decimal numbers.
type Preset struct {
	Name   string
	Arch   []string
	Params []PresetParam
	OneDim string // storage type of 1-D tensors ("f32"), "" if unsaid
	Rules  []Rule
	Drops  []string // HF patterns
	Extras []string // GGUF patterns
}

// PresetParam names a number a transform needs and where to find it.
type PresetParam struct {
	Name, GGUFKey, HFKey string
}

// Rule is one map directive.
type Rule struct {
	HF, GGUF string
	Permute  string   // param name, "" for none
	Add      float64  // 0 for none
	Stack    bool     // experts stacked
	Fused    []string // parts of a fused tensor, nil if not fused
	Tied     string   // HF name this one may be tied to
	Line     int
}

// Match is a name mapped by a rule, with the indices it matched (-1 when
// the pattern has no {N} or {E}). For a stacked rule seen from the GGUF
// side, Name still holds "{E}".
type Match struct {
	Name   string
	Rule   Rule
	Layer  int
	Expert int
}

// PresetNames lists the built-in presets.
func PresetNames() []string {
	ents, _ := presetFS.ReadDir("presets")
	var names []string
	for _, e := range ents {
		names = append(names, strings.TrimSuffix(e.Name(), ".preset"))
	}
	sort.Strings(names)
	return names
}

// BuiltinPreset returns the built-in preset called name.
func BuiltinPreset(name string) (*Preset, error) {
	b, err := presetFS.ReadFile("presets/" + name + ".preset")
	if err != nil {
		return nil, fmt.Errorf("no built-in preset %q (have %s)", name, strings.Join(PresetNames(), ", "))
	}
	return ParsePreset("presets/"+name+".preset", bytes.NewReader(b))
}

// maxPresetBytes bounds what ParsePreset reads.
const maxPresetBytes = 1 << 20

// ParsePreset reads a preset; file names it in errors ("file:line: ...").
func ParsePreset(file string, r io.Reader) (*Preset, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxPresetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(b) > maxPresetBytes {
		return nil, fmt.Errorf("%s: preset larger than %d bytes", file, maxPresetBytes)
	}
	p := &Preset{}
	params := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 4096), maxPresetBytes)
	line := 0
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", file, line, fmt.Sprintf(format, args...))
	}
	for sc.Scan() {
		line++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		f := strings.Fields(text)
		if len(f) == 0 {
			continue
		}
		if p.Name == "" && f[0] != "preset" {
			return nil, bad("the first directive must be \"preset NAME\", not %q", f[0])
		}
		switch f[0] {
		case "preset":
			if len(f) != 2 || p.Name != "" {
				return nil, bad("want one \"preset NAME\"")
			}
			p.Name = f[1]
		case "arch":
			if len(f) < 2 {
				return nil, bad("arch needs a name")
			}
			p.Arch = append(p.Arch, f[1:]...)
		case "param":
			if len(f) != 4 {
				return nil, bad("want \"param NAME GGUF_KEY HF_KEY\"")
			}
			params[f[1]] = true
			p.Params = append(p.Params, PresetParam{Name: f[1], GGUFKey: f[2], HFKey: f[3]})
		case "onedim":
			if len(f) != 2 {
				return nil, bad("want \"onedim TYPE\"")
			}
			if _, ok := ParseType(f[1]); !ok {
				return nil, bad("unknown type %q", f[1])
			}
			p.OneDim = strings.ToLower(f[1])
		case "drop", "extra":
			if len(f) != 2 {
				return nil, bad("want \"%s PATTERN\"", f[0])
			}
			if err := checkPattern(f[1]); err != nil {
				return nil, bad("%v", err)
			}
			if f[0] == "drop" {
				p.Drops = append(p.Drops, f[1])
			} else {
				p.Extras = append(p.Extras, f[1])
			}
		case "map":
			if len(f) < 3 {
				return nil, bad("want \"map HF GGUF [OPTION...]\"")
			}
			rule := Rule{HF: f[1], GGUF: f[2], Line: line}
			for _, pat := range f[1:3] {
				if err := checkPattern(pat); err != nil {
					return nil, bad("%v", err)
				}
			}
			for _, opt := range f[3:] {
				k, v, _ := strings.Cut(opt, "=")
				switch k {
				case "permute":
					if !params[v] {
						return nil, bad("permute=%s: no param %q declared above", v, v)
					}
					rule.Permute = v
				case "add":
					x, err := strconv.ParseFloat(v, 64)
					if err != nil || x != x {
						return nil, bad("add=%s is not a number", v)
					}
					rule.Add = x
				case "stack":
					rule.Stack = true
				case "fused":
					rule.Fused = strings.Split(v, ",")
				case "tied":
					rule.Tied = v
				default:
					return nil, bad("unknown option %q", opt)
				}
			}
			hasE := strings.Contains(rule.HF, "{E}")
			if rule.Stack != hasE || strings.Contains(rule.GGUF, "{E}") {
				return nil, bad("stack goes with {E} in the HF name only")
			}
			if strings.Contains(rule.HF, "{N}") != strings.Contains(rule.GGUF, "{N}") {
				return nil, bad("{N} must be in both names or neither")
			}
			p.Rules = append(p.Rules, rule)
		default:
			return nil, bad("unknown directive %q", f[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if p.Name == "" || len(p.Rules) == 0 {
		return nil, fmt.Errorf("%s: no preset name or no map rules", file)
	}
	return p, nil
}

func checkPattern(s string) error {
	rest := s
	for {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			break
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return fmt.Errorf("pattern %q: unclosed {", s)
		}
		if ph := rest[i : i+j+1]; ph != "{N}" && ph != "{E}" {
			return fmt.Errorf("pattern %q: unknown placeholder %s", s, ph)
		}
		if strings.Count(s, rest[i:i+j+1]) > 1 {
			return fmt.Errorf("pattern %q: %s twice", s, rest[i:i+j+1])
		}
		rest = rest[i+j+1:]
		if rest != "" && (rest[0] == '{' || '0' <= rest[0] && rest[0] <= '9') {
			return fmt.Errorf("pattern %q: a placeholder must not be followed by a digit or another placeholder", s)
		}
	}
	if strings.IndexByte(rest, '}') >= 0 {
		return fmt.Errorf("pattern %q: stray }", s)
	}
	return nil
}

// match matches name against a pattern, returning the {N} and {E} values
// (-1 when absent).
func match(pattern, name string) (layer, expert int, ok bool) {
	layer, expert = -1, -1
	for {
		i := strings.IndexByte(pattern, '{')
		if i < 0 {
			return layer, expert, pattern == name
		}
		if !strings.HasPrefix(name, pattern[:i]) {
			return -1, -1, false
		}
		ph := pattern[i : i+3]
		pattern, name = pattern[i+3:], name[i:]
		n := 0
		for n < len(name) && n < 9 && '0' <= name[n] && name[n] <= '9' {
			n++
		}
		if n == 0 || (n > 1 && name[0] == '0') {
			return -1, -1, false
		}
		v, _ := strconv.Atoi(name[:n])
		if ph == "{N}" {
			layer = v
		} else {
			expert = v
		}
		name = name[n:]
	}
}

func fill(pattern string, layer, expert int) string {
	if layer >= 0 {
		pattern = strings.Replace(pattern, "{N}", strconv.Itoa(layer), 1)
	}
	if expert >= 0 {
		pattern = strings.Replace(pattern, "{E}", strconv.Itoa(expert), 1)
	}
	return pattern
}

// ToGGUF maps an HF tensor name to its GGUF name (for a stacked expert,
// the stack's name and Expert set to the expert's index).
func (p *Preset) ToGGUF(hf string) (Match, bool) {
	for _, r := range p.Rules {
		if l, e, ok := match(r.HF, hf); ok {
			return Match{Name: fill(r.GGUF, l, -1), Rule: r, Layer: l, Expert: e}, true
		}
	}
	return Match{}, false
}

// ToHF maps a GGUF tensor name to its HF name (for a stack, the HF
// pattern with the layer filled and {E} left in).
func (p *Preset) ToHF(gguf string) (Match, bool) {
	for _, r := range p.Rules {
		if l, _, ok := match(r.GGUF, gguf); ok {
			return Match{Name: fill(r.HF, l, -1), Rule: r, Layer: l, Expert: -1}, true
		}
	}
	return Match{}, false
}

// Dropped reports whether the conversion leaves the HF tensor out.
func (p *Preset) Dropped(hf string) bool {
	for _, d := range p.Drops {
		if _, _, ok := match(d, hf); ok {
			return true
		}
	}
	return false
}

// Extra reports whether the conversion generates the GGUF tensor.
func (p *Preset) Extra(gguf string) bool {
	for _, x := range p.Extras {
		if _, _, ok := match(x, gguf); ok {
			return true
		}
	}
	return false
}
