package main

import (
	"time"

	"github.com/schollz/progressbar/v3"
)

// A progress bar for long comparisons. It is drawn on stderr only when
// stderr is a terminal (never into a file, a pipe or a CI log), and only
// when the work is long: more than progressMinBytes of input, or still
// running after progressDelay.
const (
	progressMinBytes = 256 << 20
	progressDelay    = time.Second
)

// progress tracks bytes compared; its zero value (and nil) does nothing.
type progress struct {
	enabled bool
	a       *app
	total   int64
	start   time.Time
	bar     *progressbar.ProgressBar
}

// newProgress returns the progress of comparing total bytes under
// --progress mode.
func newProgress(a *app, mode string, total int64) *progress {
	p := &progress{a: a, total: total, start: time.Now()}
	p.enabled = mode == progressAuto && total > 0 && isTerminal(a.stderr) && a.getenv("TERM") != "dumb"
	return p
}

// set reports that done bytes have been compared.
func (p *progress) set(done int64) {
	if p == nil || !p.enabled {
		return
	}
	if p.bar == nil {
		if p.total < progressMinBytes && time.Since(p.start) < progressDelay {
			return
		}
		p.bar = progressbar.NewOptions64(p.total,
			progressbar.OptionSetWriter(p.a.stderr),
			progressbar.OptionSetDescription("comparing"),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
			progressbar.OptionUseIECUnits(true),
		)
	}
	_ = p.bar.Set64(min(done, p.total))
}

// finish removes the bar.
func (p *progress) finish() {
	if p == nil || p.bar == nil {
		return
	}
	_ = p.bar.Finish()
	_ = p.bar.Clear()
}
