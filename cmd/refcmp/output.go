package main

import (
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"
)

// The output of every reporting command: the --format, --color, --all
// (and --issues-log) flags, and the one place that picks the renderer for
// the chosen format (render) and ends the command (finish). Each command
// computes a plain report (package diffing and its subpackages) and hands
// it here with its text, Markdown and JUnit renderers; JSON is the report
// itself.

// Output formats. A command lists the ones it supports when it registers
// its outputFlags.
const (
	formatText     = "text"
	formatJSON     = "json"
	formatMarkdown = "markdown"
)

// Color modes for --color.
const (
	colorAuto   = "auto"
	colorAlways = "always"
	colorNever  = "never"
)

// outputFlags are the flags every reporting command shares.
type outputFlags struct {
	format string // one of the formats given to register
	color  string // auto, always, never
	all    bool   // also show what passed
	// issuesLog is --issues-log FILE (commands with JUnit output; see issueslog.go).
	issuesLog string
}

// register adds --format, --color and --all to cmd. formats lists the
// output formats the command supports; the first is the default.
func (o *outputFlags) register(cmd *cobra.Command, formats ...string) {
	o.format = formats[0]
	o.color = colorAuto
	fs := cmd.Flags()
	fs.Var(&choiceValue{&o.format, formats}, "format", "output format")
	fs.Var(&choiceValue{&o.color, []string{colorAuto, colorAlways, colorNever}}, "color",
		"color text output: auto = only on a terminal and without NO_COLOR in the environment; always and never override NO_COLOR")
	fs.BoolVar(&o.all, "all", false, "also list what matched, not only the differences")
	if slices.Contains(formats, formatJUnit) { // the CI commands
		o.registerIssuesLog(cmd)
	}
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{colorAuto, colorAlways, colorNever}, cobra.ShellCompDirectiveNoFileComp))
}

// style returns how text output to w should look. --color always and
// --color never decide; auto colors only when w is a terminal, TERM is
// not "dumb" and NO_COLOR (https://no-color.org) is unset or empty (a
// command-line flag overrides the environment, as no-color.org asks).
func (o *outputFlags) style(a *app, w io.Writer) textStyle {
	st := textStyle{width: textWidth(a, w)}
	switch o.color {
	case colorAlways:
		st.color = true
	case colorNever:
	default:
		st.color = a.getenv("NO_COLOR") == "" && isTerminal(w) && a.getenv("TERM") != "dumb"
	}
	return st
}

// finish ends a reporting command once its report is written. On a pass
// it returns nil. On a failure it appends to --issues-log, when given,
// an entry built from suite (unless the log already holds this failure),
// and returns errDifferences.
func (o *outputFlags) finish(a *app, pass bool, suite func() ciSuite) error {
	if pass {
		return nil
	}
	if o.issuesLog != "" {
		now, err := a.now()
		if err != nil {
			return err
		}
		added, title, fp, err := appendIssue(o.issuesLog, suite(), a.commandLine(), now)
		if err != nil {
			return fmt.Errorf("--issues-log %s: %w", o.issuesLog, err)
		}
		if added {
			fmt.Fprintf(a.stderr, "refcmp: %s: added [OPEN] %s\n", o.issuesLog, title)
		} else {
			fmt.Fprintf(a.stderr, "refcmp: %s: this failure is already logged (fingerprint %s)\n", o.issuesLog, fp[:len("sha256:")+12])
		}
	}
	return errDifferences
}

// formatRenderers are one command's renderers; JSON needs none (the
// report is the JSON). junit is nil for commands without JUnit output.
type formatRenderers struct {
	text     func(textStyle) error
	markdown func() error
	junit    func() ciSuite
}

// render writes rep in the chosen format, then ends the command with
// finish: nil on a pass, errDifferences (after --issues-log) otherwise.
func (o *outputFlags) render(a *app, rep any, pass bool, r formatRenderers) error {
	var err error
	switch o.format {
	case formatJSON:
		err = writeJSON(a.stdout, rep)
	case formatMarkdown:
		err = r.markdown()
	case formatJUnit:
		err = writeJUnit(a.stdout, r.junit())
	default:
		err = r.text(o.style(a, a.stdout))
	}
	if err != nil {
		return err
	}
	return o.finish(a, pass, r.junit)
}
