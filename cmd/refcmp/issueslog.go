package main

// --issues-log FILE: on a failure, append an entry to a team's issues log
// (Markdown, one "### [OPEN] ..." entry per bug with the headings Symptom,
// Root Cause, Fix, Files, Prevention). refcmp fills in the Symptom from
// the same ciSuite the JUnit output is built from; the other headings are
// left for the person who fixes the bug.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/refcmp/refcmp/diffing/names"
	"github.com/spf13/cobra"

	"github.com/refcmp/refcmp/internal/fileio"
)

// envNow, when set, is the date refcmp writes into issues-log entries
// (YYYY-MM-DD or RFC 3339), so that tests and replays are reproducible.
const envNow = "REFCMP_NOW"

// issuesLogHeader starts a log refcmp creates.
const issuesLogHeader = `# Issues log

One entry per bug: Symptom, Root Cause, Fix, Files, Prevention.
refcmp --issues-log appends [OPEN] entries; mark an entry [FIXED] when it is.
`

// issueMaxFailures bounds the failures an entry lists one by one.
const issueMaxFailures = 20

// registerIssuesLog adds --issues-log to cmd.
func (o *outputFlags) registerIssuesLog(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.issuesLog, "issues-log", "",
		"on failure, append an [OPEN] entry describing it to this Markdown `FILE` (created if absent; one entry per distinct failure)")
}

// now is the current time, or $REFCMP_NOW.
func (a *app) now() (time.Time, error) {
	s := strings.TrimSpace(a.getenv(envNow))
	if s == "" {
		return time.Now().UTC(), nil
	}
	for _, layout := range []string{time.DateOnly, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s=%q: want a date YYYY-MM-DD or an RFC 3339 time", envNow, s)
}

// commandLine is refcmp's command line, quoted for a POSIX shell.
func (a *app) commandLine() string {
	return names.QuoteWords(append([]string{"refcmp"}, a.args...))
}

// maxIssuesLog bounds the issues log read to look for a fingerprint.
const maxIssuesLog = 256 << 20

// appendIssue appends the entry for s to the log at path, creating the
// log (with a short header) when it does not exist. It never rewrites
// what the log holds: the file is opened for appending only. When the log
// already holds s's fingerprint (the same failure was logged before,
// whether still open or fixed), nothing is written and added is false.
func appendIssue(path string, s ciSuite, cmdline string, now time.Time) (added bool, title, fp string, err error) {
	fp = issueFingerprint(s)
	title = issueTitle(s)
	old, err := fileio.ReadFile(path, maxIssuesLog, "an --issues-log file")
	switch {
	case errors.Is(err, os.ErrNotExist):
		old = nil
	case err != nil:
		return false, title, fp, err
	}
	if strings.Contains(string(old), fingerprintMark(fp)) {
		return false, title, fp, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666)
	if err != nil {
		return false, title, fp, err
	}
	var b strings.Builder
	if fi, err := f.Stat(); err == nil && fi.Size() == 0 {
		b.WriteString(issuesLogHeader)
	} else if len(old) > 0 && !strings.HasSuffix(string(old), "\n") {
		b.WriteString("\n")
	}
	b.WriteString("\n")
	b.WriteString(issueEntry(s, cmdline, now))
	_, err = io.WriteString(f, b.String())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err == nil, title, fp, err
}

// issueTitle is the entry's title: the command and its verdict.
func issueTitle(s ciSuite) string {
	t := oneLine("refcmp " + s.Command + ": " + s.Verdict)
	if r := []rune(t); len(r) > 160 {
		t = string(r[:159]) + "…"
	}
	return t
}

// issueEntry is the Markdown entry for a failing suite.
func issueEntry(s ciSuite, cmdline string, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### [OPEN] %s — %s\n\n", now.UTC().Format(time.DateOnly), mdHeadingText(issueTitle(s)))

	b.WriteString("#### Symptom\n\n")
	fmt.Fprintf(&b, "%s exits 1 (differences found):\n\n", mdInline(cmdline))
	summary := []string{"FAIL: " + s.Verdict}
	if s.FirstFailure != "" {
		summary = append(summary, "first failure: "+s.FirstFailure)
	}
	summary = append(summary, s.Details...)
	writeFenced(&b, "text", strings.Join(summary, "\n"))

	failed := s.failed()
	if len(failed) > 0 {
		first := failed[0]
		fmt.Fprintf(&b, "\nWhere it first failed: %s (%s)\n\n", mdInline(first.Name), first.Type)
		text := first.Text
		if text == "" {
			text = first.Message
		}
		writeFenced(&b, "text", text)
	}
	if len(failed) > 1 {
		fmt.Fprintf(&b, "\nAll %d failures (%s):\n\n", len(failed), typeCounts(failed))
		for i, c := range failed {
			if i == issueMaxFailures {
				fmt.Fprintf(&b, "- … and %d more (run the command above with --all, or --format json)\n", len(failed)-i)
				break
			}
			fmt.Fprintf(&b, "- %s — %s\n", mdInline(c.Name), mdHeadingText(oneLine(c.Message)))
		}
	}

	for _, h := range []struct{ head, todo string }{
		{"Root Cause", "what was wrong, and why."},
		{"Fix", "what changed (commit or pull request); then change [OPEN] to [FIXED] above."},
		{"Files", "the files the fix touched."},
		{"Prevention", "the test or check that now catches this (e.g. the refcmp command above, run in CI)."},
	} {
		fmt.Fprintf(&b, "\n#### %s\n\n_To fill in: %s_\n", h.head, h.todo)
	}
	fmt.Fprintf(&b, "\n%s\n", fingerprintMark(issueFingerprint(s)))
	return b.String()
}

// typeCounts sums failures up by type: "allclose 12, nan_inf 1".
func typeCounts(cs []ciCase) string {
	n := map[string]int{}
	var order []string
	for _, c := range cs {
		if n[c.Type] == 0 {
			order = append(order, c.Type)
		}
		n[c.Type]++
	}
	parts := make([]string, len(order))
	for i, t := range order {
		parts[i] = fmt.Sprintf("%s %d", t, n[t])
	}
	return strings.Join(parts, ", ")
}

// issueFingerprint identifies a failure across runs: the command, the
// inputs' base names, and the failing cases' names and kinds. It leaves
// out the date, the numbers (float noise) and the directories the inputs
// sit in (a CI checkout and a laptop differ there).
func issueFingerprint(s ciSuite) string {
	var lines []string
	for _, c := range s.failed() {
		lines = append(lines, "fail\x00"+c.Classname+"\x00"+c.Type+"\x00"+c.Name)
	}
	sort.Strings(lines)
	h := sha256.New()
	fmt.Fprintf(h, "refcmp issues-log v1\x00%s\n", s.Command)
	for _, in := range s.Inputs {
		fmt.Fprintf(h, "input\x00%s\n", filepath.Base(filepath.Clean(in)))
	}
	for _, l := range lines {
		fmt.Fprintf(h, "%s\n", l)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// fingerprintMark is the HTML comment an entry ends with.
func fingerprintMark(fp string) string {
	return "<!-- refcmp:fingerprint=" + fp + " -->"
}

// writeFenced writes text in a fenced code block whose fence no line of
// text can close.
func writeFenced(b *strings.Builder, info, text string) {
	fence := "```"
	for strings.Contains(text, fence) {
		fence += "`"
	}
	fmt.Fprintf(b, "%s%s\n%s\n%s\n", fence, info, strings.TrimRight(text, "\n"), fence)
}

// mdInline writes s as an inline code span outside a table.
func mdInline(s string) string {
	return codeSpan(strings.ReplaceAll(s, "\n", " "))
}

// mdHeadingText escapes what Markdown would read as markup in running
// text (a heading, a list item), keeping names readable: '_' inside
// words is literal in GitHub-flavoured Markdown and stays as is.
func mdHeadingText(s string) string {
	return strings.NewReplacer("\\", `\\`, "*", `\*`, "`", "\\`", "<", "&lt;", ">", "&gt;").Replace(s)
}
