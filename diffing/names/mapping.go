package names

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// MapRule is one --map rule: a Go regexp and its replacement, applied to a
// loaded name with Regexp.ReplaceAllString (so $1 and ${name} expand to
// submatches; write $$ for a literal $).
type MapRule struct {
	Pattern     *regexp.Regexp
	Replacement string
}

// String gives the rule back in REGEX=REPLACEMENT form.
func (m MapRule) String() string {
	return escapeMapEquals(m.Pattern.String()) + "=" + m.Replacement
}

// ParseMap parses a --map value, REGEX=REPLACEMENT. The pattern ends at the
// first '=' not preceded by a backslash, so a pattern that must match '='
// writes it as \= (a valid Go regexp escape). The pattern must not be
// empty and must compile; the replacement may be empty (the match is
// deleted).
func ParseMap(s string) (MapRule, error) {
	i := mapSplit(s)
	if i < 0 {
		return MapRule{}, fmt.Errorf("--map %q: no '=' (want REGEX=REPLACEMENT, e.g. '^model\\.=')", s)
	}
	pat, repl := s[:i], s[i+1:]
	if pat == "" {
		return MapRule{}, fmt.Errorf("--map %q: empty regexp before '='", s)
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return MapRule{}, fmt.Errorf("--map %q: %w", s, err)
	}
	if err := checkReplacement(re, repl); err != nil {
		return MapRule{}, fmt.Errorf("--map %q: %w", s, err)
	}
	return MapRule{Pattern: re, Replacement: repl}, nil
}

// mapSplit finds the first '=' not escaped by a backslash, or -1.
func mapSplit(s string) int {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++ // skip the escaped byte
		case '=':
			return i
		}
	}
	return -1
}

func escapeMapEquals(pat string) string {
	var b strings.Builder
	for i := 0; i < len(pat); i++ {
		c := pat[i]
		if c == '\\' && i+1 < len(pat) {
			b.WriteByte(c)
			b.WriteByte(pat[i+1])
			i++
			continue
		}
		if c == '=' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	return b.String()
}

// checkReplacement rejects $N and ${name} references to groups the
// pattern does not have; regexp.Expand would silently expand them to "".
func checkReplacement(re *regexp.Regexp, repl string) error {
	names := map[string]bool{}
	for i, n := range re.SubexpNames() {
		names[fmt.Sprint(i)] = true
		if n != "" {
			names[n] = true
		}
	}
	for i := 0; i < len(repl); i++ {
		if repl[i] != '$' || i+1 >= len(repl) {
			continue
		}
		if repl[i+1] == '$' {
			i++
			continue
		}
		var name string
		if repl[i+1] == '{' {
			end := strings.IndexByte(repl[i+2:], '}')
			if end < 0 {
				return fmt.Errorf("replacement: unclosed ${ at byte %d", i)
			}
			name = repl[i+2 : i+2+end]
			i += 2 + end
		} else {
			j := i + 1
			for j < len(repl) && isWordByte(repl[j]) {
				j++
			}
			name = repl[i+1 : j]
			i = j - 1
		}
		if name == "" {
			continue
		}
		if !names[name] {
			return fmt.Errorf("replacement refers to $%s, but the regexp has no such group (write ${1} before letters or digits, $$ for a literal $)", name)
		}
	}
	return nil
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Glob is one --ignore pattern. It matches a whole name: '*' matches any
// run of characters, dots and slashes included (so "*.inv_freq" ignores
// every rotary buffer at any depth), '?' matches one character, [abc],
// [a-z] and [!abc] match one character of a class, and a backslash quotes
// the next character.
type Glob struct {
	Source string
	re     *regexp.Regexp
}

// String gives the pattern as written.
func (g Glob) String() string { return g.Source }

// Match reports whether the whole of name matches the pattern.
func (g Glob) Match(name string) bool { return g.re != nil && g.re.MatchString(name) }

// ParseIgnore parses an --ignore pattern (see Glob).
func ParseIgnore(s string) (Glob, error) {
	if s == "" {
		return Glob{}, errors.New("--ignore: empty pattern")
	}
	var b strings.Builder
	b.WriteString(`\A(?s:`)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '\\':
			if i+1 >= len(s) {
				return Glob{}, fmt.Errorf("--ignore %q: trailing backslash", s)
			}
			i++
			b.WriteString(regexp.QuoteMeta(s[i : i+1]))
		case '[':
			end := classEnd(s, i)
			if end < 0 {
				return Glob{}, fmt.Errorf("--ignore %q: unclosed '[' at byte %d", s, i)
			}
			body := s[i+1 : end]
			b.WriteByte('[')
			if strings.HasPrefix(body, "!") || strings.HasPrefix(body, "^") {
				b.WriteByte('^')
				body = body[1:]
			}
			for j := 0; j < len(body); j++ {
				switch body[j] {
				case '\\':
					if j+1 < len(body) {
						j++
					}
					b.WriteString(regexp.QuoteMeta(body[j : j+1]))
				case '-':
					b.WriteByte('-')
				default:
					b.WriteString(regexp.QuoteMeta(body[j : j+1]))
				}
			}
			b.WriteByte(']')
			i = end
		default:
			b.WriteString(regexp.QuoteMeta(s[i : i+1]))
		}
	}
	b.WriteString(`)\z`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return Glob{}, fmt.Errorf("--ignore %q: %v", s, err)
	}
	return Glob{Source: s, re: re}, nil
}

// classEnd returns the index of the ']' closing the class opened at s[i],
// or -1. A ']' right after '[' or '[!' belongs to the class.
func classEnd(s string, i int) int {
	j := i + 1
	if j < len(s) && (s[j] == '!' || s[j] == '^') {
		j++
	}
	if j < len(s) && s[j] == ']' {
		j++
	}
	for ; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case ']':
			if j == i+1 {
				return -1
			}
			return j
		}
	}
	return -1
}

// TiedPair is one --tied NAME=OTHER setting, both in expected (reference)
// names. When one of the two is missing from the loaded weights and the
// other is loaded with the missing one's expected shape, the missing one
// is accepted as tied rather than reported missing. Both directions are
// accepted: a port may store either half of a tied pair.
type TiedPair struct {
	Name  string
	Other string
}

// String gives the pair back in NAME=OTHER form.
func (p TiedPair) String() string { return p.Name + "=" + p.Other }

// ParseTied parses a --tied value, NAME=OTHER.
func ParseTied(s string) (TiedPair, error) {
	a, b, ok := strings.Cut(s, "=")
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	switch {
	case !ok:
		return TiedPair{}, fmt.Errorf("--tied %q: no '=' (want NAME=OTHER, e.g. lm_head.weight=model.embed_tokens.weight)", s)
	case a == "" || b == "":
		return TiedPair{}, fmt.Errorf("--tied %q: empty name (want NAME=OTHER)", s)
	case a == b:
		return TiedPair{}, fmt.Errorf("--tied %q: a name cannot be tied to itself", s)
	}
	return TiedPair{Name: a, Other: b}, nil
}

// NameRules are the naming settings shared by every command that pairs a
// reference side (expected) with a port side (loaded): --map rules applied
// in order to loaded names, and --ignore patterns matched against both
// sides.
type NameRules struct {
	Maps   []MapRule
	Ignore []Glob
}

// ParseNameRules parses repeated --map and --ignore values, in order.
func ParseNameRules(maps, ignores []string) (NameRules, error) {
	var r NameRules
	for _, s := range maps {
		m, err := ParseMap(s)
		if err != nil {
			return NameRules{}, err
		}
		r.Maps = append(r.Maps, m)
	}
	for _, s := range ignores {
		g, err := ParseIgnore(s)
		if err != nil {
			return NameRules{}, err
		}
		r.Ignore = append(r.Ignore, g)
	}
	return r, nil
}

// Map turns a loaded name into the expected name space: each --map rule in
// order replaces every match of its regexp. ignored is true when an
// --ignore pattern matches either the name as loaded or the mapped name.
func (r NameRules) Map(name string) (mapped string, ignored bool) {
	mapped = ApplyMaps(r.Maps, name)
	return mapped, r.Ignored(name) || (mapped != name && r.Ignored(mapped))
}

// Ignored reports whether an --ignore pattern matches name as it stands;
// use it for expected (reference) names, which are not mapped.
func (r NameRules) Ignored(name string) bool {
	for _, g := range r.Ignore {
		if g.Match(name) {
			return true
		}
	}
	return false
}

// Budgets of --map (docs/limits.md): rules such as '(.)=$1$1', repeated,
// grow names exponentially.
const (
	// MaxMappedName is the longest name a --map rule may produce, in bytes.
	MaxMappedName = 1 << 16
	// maxReplaceWork bounds the bytes one replacement may build before
	// its length is checked: a rule whose bound over a name is larger is
	// refused when it matches the name.
	maxReplaceWork = 64 << 20
	// MaxMapWork is the bytes --map rules may add to all names of one
	// listing together (each rule's growth of each name, summed).
	MaxMapWork = 1 << 28
)

// Apply replaces every match of the rule in name (Regexp.ReplaceAllString).
// It fails, naming the rule, when the result is longer than name and
// over MaxMappedName bytes. The work is bounded before the replacement is
// built: the result is at most len(name) + (len(name)+1)*len(Replacement)
// + refs*len(name) bytes, refs being the $ references in the replacement,
// and a rule that matches is refused when that bound is over both
// maxReplaceWork and 2*len(name)+1 (what a one-byte replacement may do).
func (m MapRule) Apply(name string) (string, error) {
	bound := int64(len(name)) + int64(len(name)+1)*int64(len(m.Replacement)) +
		int64(strings.Count(m.Replacement, "$"))*int64(len(name))
	if bound <= MaxMappedName {
		return m.Pattern.ReplaceAllString(name, m.Replacement), nil
	}
	if !m.Pattern.MatchString(name) {
		return name, nil
	}
	if bound > maxReplaceWork && bound > 2*int64(len(name))+1 {
		return name, fmt.Errorf("--map %q on a name of %d bytes (%s): the result could be over %d bytes, refcmp's limit for work on one name", m.String(), len(name), clip(name), maxReplaceWork)
	}
	out := m.Pattern.ReplaceAllString(name, m.Replacement)
	if len(out) > MaxMappedName && len(out) > len(name) {
		return name, fmt.Errorf("--map %q makes a name of %d bytes from %s, over the limit of %d bytes", m.String(), len(out), clip(name), MaxMappedName)
	}
	return out, nil
}

// clip quotes the start of a long name for an error message.
func clip(name string) string {
	if len(name) > 64 {
		return fmt.Sprintf("%q...", name[:64])
	}
	return fmt.Sprintf("%q", name)
}

// ApplyMaps applies maps to name in order, each to the result of the last.
// A rule that would make the name too long (see MapRule.Apply) stops
// the mapping there; NameRules.CheckMaps reports it.
func ApplyMaps(maps []MapRule, name string) string {
	for _, m := range maps {
		out, err := m.Apply(name)
		if err != nil {
			return name
		}
		name = out
	}
	return name
}

// CheckMaps applies the --map rules to every name of a listing and fails,
// naming the rule, when one makes a name over MaxMappedName bytes or when
// they make the names longer by over MaxMapWork bytes in all.
func (r NameRules) CheckMaps(names []string) error {
	if len(r.Maps) == 0 {
		return nil
	}
	work := int64(0)
	for _, name := range names {
		for k, m := range r.Maps {
			out, err := m.Apply(name)
			if err != nil {
				return fmt.Errorf("%w (--map number %d)", err, k+1)
			}
			if len(out) > len(name) {
				if work += int64(len(out) - len(name)); work > MaxMapWork {
					return fmt.Errorf("--map %q: the rules make names longer by over %d bytes in all", m.String(), MaxMapWork)
				}
			}
			name = out
		}
	}
	return nil
}

// Quote quotes s for a POSIX shell when it needs quoting. Only letters, digits
// and _-.,/:+@% stand bare; "=" is quoted too: a word starting with "=" is
// expanded by zsh (=cmd is the path of cmd) and a first word a=b is an
// assignment, so quoting it is the rule that is right everywhere.
func Quote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,/:+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// QuoteWords joins words into a POSIX shell command line, each quoted
// with Quote when it needs it.
func QuoteWords(words []string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = Quote(w)
	}
	return strings.Join(out, " ")
}
