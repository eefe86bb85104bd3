package main

// What the renderers of every reporting command share: flag values that
// choose one of a fixed set, the text style, and writers for JSON, text
// tables and Markdown tables. output.go picks the renderer.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/refcmp/refcmp/diffing/names"
	"io"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/spf13/pflag"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// choiceValue is a pflag.Value that accepts one of a fixed set of strings,
// so a wrong value is a flag error (exit 2) naming the choices.
type choiceValue struct {
	p       *string
	choices []string
}

var _ pflag.Value = (*choiceValue)(nil)

func (c *choiceValue) String() string {
	if c.p == nil {
		return ""
	}
	return *c.p
}

func (c *choiceValue) Set(s string) error {
	for _, ch := range c.choices {
		if s == ch {
			*c.p = s
			return nil
		}
	}
	if near := names.Closest(s, c.choices, 1); len(near) > 0 {
		return fmt.Errorf("must be one of %s; did you mean %q?", strings.Join(c.choices, ", "), near[0])
	}
	return fmt.Errorf("must be one of %s", strings.Join(c.choices, ", "))
}

// Type names the choices, which --help shows as the flag's argument:
// --format text|json|markdown.
func (c *choiceValue) Type() string { return strings.Join(c.choices, "|") }

// textStyle paints text output and, on a terminal, fits it to its
// width (termwidth.go). The zero value paints nothing and fits nothing.
type textStyle struct {
	color bool
	width int // 0: no limit
}

const (
	ansiReset  = "\x1b[0m"
	ansiBold   = "\x1b[1m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
)

// safeText wraps the writer of a text report: control characters, which
// a file can put in a tensor name to rewrite the screen ("\x1b[2J",
// "\r"), are written escaped as \x1b, \r, \u009b, except newlines, tabs
// and refcmp's own colour codes. JSON, Markdown and JUnit escape in their
// own ways and are not wrapped.
type safeText struct{ w io.Writer }

var ownCodes = []string{ansiReset, ansiBold, ansiRed, ansiGreen, ansiYellow, ansiCyan}

func (s safeText) Write(p []byte) (int, error) {
	var b []byte
	start := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		n, esc := 1, ""
		switch {
		case c == 0xc2 && i+1 < len(p) && p[i+1] >= 0x80 && p[i+1] < 0xa0: // C1 controls
			n, esc = 2, fmt.Sprintf(`\u%04x`, p[i+1])
		case c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f) || c >= 0x80:
			continue
		case c == 0x1b:
			for _, code := range ownCodes {
				if bytes.HasPrefix(p[i:], []byte(code)) {
					n = len(code)
				}
			}
			if n > 1 {
				i += n - 1
				continue
			}
			esc = `\x1b`
		case c == '\r':
			esc = `\r`
		case c < 0x20 || c == 0x7f:
			esc = fmt.Sprintf(`\x%02x`, c)
		default:
			continue
		}
		if b == nil {
			b = make([]byte, 0, len(p)+16)
		}
		b = append(append(b, p[start:i]...), esc...)
		i += n - 1
		start = i + 1
	}
	if b == nil {
		return s.w.Write(p)
	}
	if _, err := s.w.Write(append(b, p[start:]...)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (s textStyle) paint(code, text string) string {
	if !s.color || text == "" {
		return text
	}
	return code + text + ansiReset
}

func (s textStyle) bad(text string) string  { return s.paint(ansiBold+ansiRed, text) }
func (s textStyle) good(text string) string { return s.paint(ansiBold+ansiGreen, text) }
func (s textStyle) hint(text string) string { return s.paint(ansiYellow, text) }
func (s textStyle) head(text string) string { return s.paint(ansiBold, text) }
func (s textStyle) name(text string) string { return s.paint(ansiCyan, text) }

// verdict is the verdict word that opens a text report: PASS: or FAIL:.
func (s textStyle) verdict(pass bool) string {
	if pass {
		return s.good("PASS:")
	}
	return s.bad("FAIL:")
}

// mdVerdict is the verdict mark of a Markdown report.
func mdVerdict(pass bool) string {
	if pass {
		return "✅ PASS"
	}
	return "❌ FAIL"
}

// writeJSON writes v as the JSON contract wants it: 2-space indent, no
// HTML escaping, one trailing newline. Field order is the struct's and
// map keys are sorted, so the same report gives the same bytes.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeTable writes one text table: a header row and the rows, columns
// left-aligned, cells never wrapped (names must stay greppable).
func writeTable(w io.Writer, header []string, rows [][]string) error {
	t := tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleLight)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithTrimSpace(tw.Off),
	)
	t.Header(header)
	if err := t.Bulk(rows); err != nil {
		return err
	}
	return t.Render()
}

// writeMarkdownTable writes a GitHub-flavoured Markdown table. Cells are
// escaped with mdCell or mdCode by the caller.
func writeMarkdownTable(w io.Writer, header []string, rows [][]string) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat(" --- |", len(header)) + "\n")
	for _, r := range rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdCell escapes plain text for a Markdown table cell.
func mdCell(s string) string {
	r := strings.NewReplacer("|", `\|`, "\n", " ", "\r", "", "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "\\`")
	return r.Replace(s)
}

// mdCode renders s as inline code inside a Markdown table cell. Names and
// shapes go in code spans so that '_' and '*' in them stay literal.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	return codeSpan(strings.ReplaceAll(strings.ReplaceAll(s, "\n", " "), "|", `\|`))
}

// codeSpan wraps s (one line) in a Markdown code span: a fence of more
// backticks than any run in s, padded by a space where s starts or ends
// with a backtick.
func codeSpan(s string) string {
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}
