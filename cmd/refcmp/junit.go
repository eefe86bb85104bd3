package main

// CI output shared by the reporting commands (weights, tensors, golden
// check): each converts its report to a ciSuite, one plain structure that
// both --format junit (writeJUnit, below) and --issues-log (issueslog.go)
// are built from.

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// formatJUnit is --format junit: JUnit XML for CI test reporters.
const formatJUnit = "junit"

// caseStatus is the outcome of one ciCase.
type caseStatus int

const (
	casePass caseStatus = iota
	caseFail
	caseSkip
)

// ciSuite is one command run, as CI sees it: a named list of test cases,
// one per weight or tensor, each passing, failing (with the diagnosis) or
// skipped. It is plain data built from a command's report.
type ciSuite struct {
	// Command is the subcommand: "weights", "tensors", "golden check".
	Command string
	// Inputs are the positional arguments as given (EXPECTED LOADED,
	// REF OURS, INPUT GOLDEN).
	Inputs []string
	Pass   bool
	// Verdict is the report's first line without PASS/FAIL, e.g.
	// "2 missing, 1 shape mismatch (expected 7 tensors / 58 params; loaded 5)".
	Verdict string
	// FirstFailure is where the run first failed: the first failing case
	// in the report's order (execution order for tensors), with context
	// ("step 5 of 18; steps 0-4 pass"). "" when it passed.
	FirstFailure string
	// Details are facts about the whole run, one line each: the sequence
	// profile, hints with the flag that fixes them, notes.
	Details []string
	Cases   []ciCase
}

// ciCase is one weight or tensor.
type ciCase struct {
	Name string // the weight or tensor name
	// Classname groups cases: "refcmp.<command>" for names of the
	// reference side, "refcmp.<command>.<side>" for names found only on
	// the other side (unexpected, ours_only, new), whose names live in
	// another namespace.
	Classname string
	Status    caseStatus
	// Type is the kind of failure: missing, unexpected, shape_mismatch,
	// dtype_mismatch, collision, allclose, exact, max-abs, cosine, nmse,
	// nan_inf, ref_only, ours_only, changed, new; for a skipped case, why
	// ("ignored").
	Type string
	// Message says what failed in one line.
	Message string
	// Text is the diagnosis: the numbers, the worst element, the hints,
	// one fact per line.
	Text string
}

// name is the suite's name: the command as run, without flags.
func (s ciSuite) name() string {
	return strings.Join(append([]string{"refcmp", s.Command}, s.Inputs...), " ")
}

// counts returns the number of cases, failures and skipped cases.
func (s ciSuite) counts() (tests, failures, skipped int) {
	for _, c := range s.Cases {
		tests++
		switch c.Status {
		case caseFail:
			failures++
		case caseSkip:
			skipped++
		}
	}
	return tests, failures, skipped
}

// failed returns the failing cases, in order.
func (s ciSuite) failed() []ciCase {
	var out []ciCase
	for _, c := range s.Cases {
		if c.Status == caseFail {
			out = append(out, c)
		}
	}
	return out
}

// JUnit XML, in the shape common reporters read (Jenkins, GitLab, the
// GitHub test-reporter actions):
//
//	<testsuites name tests failures errors time>
//	  <testsuite name tests failures errors skipped time>
//	    <properties><property name value/>...</properties>
//	    <testcase name classname time>
//	      <failure message type>diagnosis</failure>  or  <skipped message/>
//	    </testcase>
//	    <system-out>verdict and details</system-out>
//	  </testsuite>
//	</testsuites>
//
// Times are "0": the same inputs give the same bytes.

// junitSuites is the root. It has no skipped attribute: the schema
// Jenkins' xUnit plugin validates against (junit-10.xsd) allows only
// name, time, tests, failures and errors there; <testsuite> has skipped.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  *junitText      `xml:"system-out"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	Skipped   *junitSkipped `xml:"skipped"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

// junitText is an element's text as CDATA, so that the diagnosis reads
// as it does in a terminal, quotes and line breaks as they are.
type junitText struct {
	Text string `xml:",cdata"`
}

// xmlSafe replaces the characters XML 1.0 cannot hold (most control
// characters, unpaired surrogates, U+FFFE, U+FFFF) with U+FFFD; CDATA
// sections are written as they are, so the text must be clean first.
func xmlSafe(s string) string {
	ok := func(r rune) bool {
		return r == '\t' || r == '\n' || r == '\r' ||
			r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
	}
	clean := true
	for _, r := range s {
		if !ok(r) || r == utf8.RuneError {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s { // invalid UTF-8 decodes as RuneError
		if !ok(r) {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// junitOf converts a suite to its XML form.
func junitOf(s ciSuite) junitSuites {
	tests, failures, skipped := s.counts()
	js := junitSuite{
		Name: s.name(), Tests: tests, Failures: failures, Skipped: skipped, Time: "0",
		Properties: []junitProperty{{"command", "refcmp " + s.Command}},
		Cases:      make([]junitCase, 0, len(s.Cases)),
	}
	for i, in := range s.Inputs {
		js.Properties = append(js.Properties, junitProperty{"input." + strconv.Itoa(i+1), in})
	}
	verdict := "PASS: " + s.Verdict
	if !s.Pass {
		verdict = "FAIL: " + s.Verdict
	}
	js.Properties = append(js.Properties, junitProperty{"verdict", verdict})
	out := []string{verdict}
	if s.FirstFailure != "" {
		out = append(out, "first failure: "+s.FirstFailure)
	}
	js.SystemOut = &junitText{xmlSafe(strings.Join(append(out, s.Details...), "\n") + "\n")}
	for _, c := range s.Cases {
		jc := junitCase{Name: c.Name, Classname: c.Classname, Time: "0"}
		switch c.Status {
		case caseFail:
			jc.Failure = &junitFailure{Message: oneLine(c.Message), Type: c.Type, Text: xmlSafe(c.Text)}
			if jc.Failure.Text != "" && !strings.HasSuffix(jc.Failure.Text, "\n") {
				jc.Failure.Text += "\n"
			}
		case caseSkip:
			jc.Skipped = &junitSkipped{Message: oneLine(c.Message)}
		}
		js.Cases = append(js.Cases, jc)
	}
	return junitSuites{
		Name: "refcmp", Tests: tests, Failures: failures, Time: "0",
		Suites: []junitSuite{js},
	}
}

// writeJUnit writes s as a JUnit XML document: an XML declaration, the
// elements indented by two spaces, one trailing newline.
func writeJUnit(w io.Writer, s ciSuite) error {
	var b strings.Builder
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(junitOf(s)); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// oneLine folds s onto one line, for an attribute.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// nonEmpty returns ss without its empty strings.
func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// unique returns ss without repeats, in order.
func unique(ss []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
