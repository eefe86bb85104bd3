package plot

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/refcmp/refcmp/diffing"
)

// Report is what index.html shows: plain data the command fills in.
type Report struct {
	Title    string // the command, e.g. "refcmp tensors ref.safetensors ours.safetensors"
	Pass     bool
	Verdict  string     // the text output's verdict line
	Header   []string   // the summary table
	Rows     [][]string //
	Sequence []string   // the sequence analysis, one line each (none for one pair)
	Curve    *Figure    // the sequence picture, or nil
	Pairs    []PairReport
	Notes    []string
}

// PairReport is one failing pair: its diagnosis beside its pictures.
type PairReport struct {
	Title     string
	Diagnosis []string // facts and hints, one line each
	Terminal  []string // the terminal heatmap, shown when there are no PNGs
	Figures   []Figure
}

// Figure is one PNG.
type Figure struct {
	File string // its name in the --plot directory
	Alt  string
	PNG  []byte
}

// PairFigures draws a pair's pictures: the heatmap (when the pair has two
// axes longer than 1), the histogram and the scatter, named from prefix.
func PairFigures(pic diffing.Picture, prefix string) ([]Figure, error) {
	var out []Figure
	add := func(kind, alt string, draw func(diffing.Picture) ([]byte, error)) error {
		b, err := draw(pic)
		if err != nil {
			return err
		}
		out = append(out, Figure{File: prefix + "-" + kind + ".png", Alt: alt + " of " + pic.Name, PNG: b})
		return nil
	}
	if pic.Heat != nil {
		if err := add("heatmap", "|diff| heatmap", Heatmap); err != nil {
			return nil, err
		}
	}
	if len(pic.Hist) > 0 {
		if err := add("histogram", "|diff| histogram", Histogram); err != nil {
			return nil, err
		}
	}
	if slices.ContainsFunc(pic.Sample, func(s diffing.SamplePoint) bool { return finite(s.Ref) && finite(s.Ours) }) {
		if err := add("scatter", "ours against ref", Scatter); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func finite(x float64) bool { return x-x == 0 }

// FileName turns a tensor name into a file name part: letters, digits,
// '.', '-' and '_' kept, the rest '_', at most 80 bytes.
func FileName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 80 {
			break
		}
	}
	if b.Len() == 0 {
		return "tensor"
	}
	return b.String()
}

// WriteDir writes every figure as a PNG file into dir (created if
// needed) and index.html, which holds them again inline, so that it
// opens alone, without a server or network.
func WriteDir(dir string, r Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	figs := []*Figure{}
	if r.Curve != nil {
		figs = append(figs, r.Curve)
	}
	for i := range r.Pairs {
		for j := range r.Pairs[i].Figures {
			figs = append(figs, &r.Pairs[i].Figures[j])
		}
	}
	for _, f := range figs {
		if err := os.WriteFile(filepath.Join(dir, f.File), f.PNG, 0o644); err != nil {
			return err
		}
	}
	f, err := os.Create(filepath.Join(dir, "index.html"))
	if err != nil {
		return err
	}
	if err := WriteHTML(f, r); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", f.Name(), err)
	}
	return f.Close()
}

// WriteHTML writes the report as one self-contained HTML page: inline
// CSS, the images as data: URLs, no script, no link out.
func WriteHTML(w io.Writer, r Report) error {
	t, err := template.New("page").Funcs(template.FuncMap{
		"src": func(f Figure) template.URL {
			return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG))
		},
	}).Parse(page)
	if err != nil {
		return err
	}
	return t.Execute(w, r)
}

// page is index.html's template.
const page = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 1.5em; color: #222; max-width: 1400px; }
h1 { font-size: 1.3em; }
.verdict { font-size: 1.2em; font-weight: bold; padding: .4em .6em; border-radius: 4px; display: inline-block; }
.pass { background: #e3f4e6; color: #135e25; }
.fail { background: #fbe4e4; color: #8c1515; }
table { border-collapse: collapse; margin: 1em 0; font-size: .9em; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.pair { display: flex; flex-wrap: wrap; gap: 1em; border-top: 1px solid #ddd; padding-top: 1em; margin-top: 1em; }
.diag { flex: 1 1 380px; font-family: monospace; white-space: pre-wrap; font-size: .85em; }
.figs { flex: 2 1 660px; display: flex; flex-wrap: wrap; gap: .5em; }
.figs img { width: 640px; max-width: 100%; border: 1px solid #eee; }
pre { font-size: .85em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="verdict {{if .Pass}}pass{{else}}fail{{end}}">{{.Verdict}}</p>
{{range .Notes}}<p>note: {{.}}</p>
{{end}}{{if .Rows}}<table>
<tr>{{range .Header}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{end}}{{if or .Sequence .Curve}}<h2>Along the sequence</h2>
{{range .Sequence}}<p>{{.}}</p>
{{end}}{{with .Curve}}<img src="{{src .}}" alt="{{.Alt}}" width="640" height="480">
{{end}}{{end}}{{if .Pairs}}<h2>Failing pairs</h2>
{{range .Pairs}}<div class="pair">
<div class="diag"><h3>{{.Title}}</h3>{{range .Diagnosis}}{{.}}
{{end}}{{if .Terminal}}<pre>{{range .Terminal}}{{.}}
{{end}}</pre>{{end}}</div>
<div class="figs">{{range .Figures}}<img src="{{src .}}" alt="{{.Alt}}" width="640" height="480">{{end}}</div>
</div>
{{end}}{{end}}</body>
</html>
`
