package plot

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/refcmp/refcmp/diffing"
	"github.com/refcmp/refcmp/internal/patterns"
)

// sampleReport is a report of a sequence with a jump and one failing
// pair with a causal mask off by one.
func sampleReport(t *testing.T) Report {
	t.Helper()
	var rs []diffing.Result
	for _, p := range patterns.LayerJump(6, 8, 8, 4) {
		r, _ := pictureOf(t, p)
		rs = append(rs, r)
	}
	curve, err := Sequence(diffing.Curve(rs))
	if err != nil {
		t.Fatal(err)
	}
	res, pic := pictureOf(t, patterns.CausalOffByOne(1, 2, 16))
	figs, err := PairFigures(pic, "00-"+FileName(pic.Name))
	if err != nil {
		t.Fatal(err)
	}
	return Report{
		Title: "refcmp tensors ref ours", Verdict: "FAIL: 1 of 7 pairs differ",
		Header: []string{"step", "name", "verdict"}, Rows: [][]string{{"0", "attn.scores", "FAIL"}},
		Sequence: []string{"jump at step 4"},
		Curve:    &Figure{File: "sequence.png", Alt: "sequence", PNG: curve},
		Pairs:    []PairReport{{Title: res.Name, Diagnosis: res.Facts(), Figures: figs}},
	}
}

func TestWriteDir(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDir(dir, sampleReport(t)); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.html", "sequence.png", "00-attn.scores-heatmap.png", "00-attn.scores-histogram.png", "00-attn.scores-scatter.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	if n := strings.Count(string(page), `src="data:image/png;base64,`); n != 4 {
		t.Errorf("%d inline images, want 4", n)
	}
	if m := regexp.MustCompile(`(?i)https?:|src="[^d]|<script|<link`).Find(page); m != nil {
		t.Errorf("index.html reaches out: %q", m)
	}
}

// chromium is Debian's chromium, or a skip (a failure with
// REFCMP_PEERS=required).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("REFCMP_PEERS") == "required" {
		t.Fatal("no /usr/bin/chromium, and REFCMP_PEERS=required")
	}
	t.Skip("no /usr/bin/chromium (apt-get install chromium; REFCMP_PEERS=required fails instead)")
	return ""
}

// TestIndexHTMLInChromium opens index.html in headless Chromium with
// networking cut off, and checks the screenshot shows the pictures and
// the DOM holds them.
func TestIndexHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	dir := t.TempDir()
	if err := WriteDir(filepath.Join(dir, "plots"), sampleReport(t)); err != nil {
		t.Fatal(err)
	}
	// Only index.html beside the browser: the PNG files are gone, so the
	// page shows what it holds itself.
	page := filepath.Join(dir, "index.html")
	if err := os.Rename(filepath.Join(dir, "plots", "index.html"), page); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "plots")); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) []byte {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
			"--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=" + t.TempDir()}
		cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, errb.String())
		}
		return out.Bytes()
	}
	shot := filepath.Join(dir, "shot.png")
	run("--screenshot="+shot, "--window-size=1400,2400", "--hide-scrollbars", "file://"+page)
	if out := os.Getenv("REFCMP_PLOT_OUT"); out != "" {
		b, _ := os.ReadFile(shot)
		_ = os.WriteFile(filepath.Join(out, "index-shot.png"), b, 0o644)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// Not blank, and the pictures drawn: the heatmap's yellow diagonal
	// and the blue bars and dots are there (nothing else on the page is
	// yellow or that blue).
	nwarm, ncool, nonwhite := 0, 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl := rgb(img, x, y)
			if r < 250 || g < 250 || bl < 250 {
				nonwhite++
			}
			if r > 230 && g > 180 && bl < 60 { // the heatmap's yellow
				nwarm++
			}
			if blue(img, x, y) {
				ncool++
			}
		}
	}
	t.Logf("screenshot %v: %d non-white, %d yellow, %d blue pixels", b, nonwhite, nwarm, ncool)
	if nonwhite < b.Dx()*b.Dy()/50 || nwarm < 500 || ncool < 500 {
		t.Errorf("screenshot %v: %d non-white, %d yellow, %d blue pixels: the page or its images did not render", b, nonwhite, nwarm, ncool)
	}
	dom := string(run("--dump-dom", "file://"+page))
	if n := strings.Count(dom, "<img"); n != 4 {
		t.Errorf("DOM holds %d img elements, want 4", n)
	}
}
