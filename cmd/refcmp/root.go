package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// app is what every command needs from the process: where to write and
// how to read the environment. Tests build one with their own writers.
type app struct {
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	args   []string // the command line after "refcmp" (for --issues-log)
	// terminal, when set, replaces the terminal test of stdout (tests).
	terminal func(io.Writer) bool
}

// run is the whole CLI: it parses args, runs one command and returns the
// exit status. main is a thin wrapper, so tests run the CLI in-process.
func run(args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return a.run(args)
}

func (a *app) run(args []string) (code int) {
	a.args = args
	defer func() {
		if r := recover(); r != nil {
			err := &internalError{panic: r, args: args, stack: debug.Stack()}
			fmt.Fprintf(a.stderr, "refcmp: %s\n", err)
			code = exitCode(err)
		}
	}()
	root := newRootCmd(a)
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil || errors.Is(err, errDifferences) {
		return exitCode(err)
	}
	fmt.Fprintf(a.stderr, "refcmp: %s\n", errorMessage(err))
	var uerr *usageError
	if errors.As(err, &uerr) && cmd != nil {
		fmt.Fprintf(a.stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
	}
	return exitCode(err)
}

const rootDoc = `refcmp compares a neural-network port with its reference.

Commands:
  weights EXPECTED LOADED   the weights a port loads against the reference's, from headers alone
  tensors REF OURS          compare tensor dumps numerically: where they first diverge, and why
  golden record|check       record known-good output's summaries; check new output against them
  inspect FILE              list a file's tensors, their statistics or the first NaN/Inf
  version                   print refcmp's version
  completion SHELL          write a shell completion script (bash, zsh, fish, powershell)

` + exitCodesHelp

const rootExample = `  # Which reference weights did my port fail to load?
  refcmp weights model.safetensors loaded.txt

  # Where does the port's forward pass first go wrong?
  refcmp tensors ref_activations.safetensors port_activations.safetensors

  # Record known-good activations; in CI, check new ones against them
  refcmp golden record ref_activations.safetensors -o activations.golden.json
  refcmp golden check port_activations.safetensors activations.golden.json

  # Where does the first NaN appear?
  refcmp inspect --check-finite port_activations.safetensors

  # Which build is this?
  refcmp version

  # Tab completion for bash
  source <(refcmp completion bash)`

// newRootCmd builds the command tree. Each subcommand is registered in the
// one AddCommand call below.
func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "refcmp",
		Short:         "Compare a neural-network port with its reference",
		Long:          rootDoc,
		Example:       rootExample,
		Version:       buildVersion(),
		SilenceErrors: true,
		SilenceUsage:  true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				return usagef("unknown command %q; did you mean %q?", args[0], s[0])
			}
			return usagef("unknown command %q", args[0])
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("missing command (weights, tensors, golden, inspect, version, completion, help)")
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("refcmp {{.Version}}\n")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return &usageError{err}
	})
	root.AddCommand(
		newWeightsCmd(a),
		newTensorsCmd(a),
		newGoldenCmd(a),
		newInspectCmd(a),
		newVersionCmd(a),
	)
	checkCompletionArgs(root)
	return root
}

// exactArgs is cobra.ExactArgs with the argument names in the message and
// a usageError, so a wrong call exits 2 with a pointer to --help.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == len(names) {
			return nil
		}
		if len(names) == 0 {
			return usagef("%s takes no arguments, got %d", cmd.Name(), len(args))
		}
		return usagef("%s takes %d arguments (%s), got %d", cmd.Name(), len(names), strings.Join(names, " "), len(args))
	}
}

// errorMessage is err's text, with a bare *fs.PathError shortened to
// "path: reason": "open x: no such file or directory" names a system call
// the user did not make.
func errorMessage(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}
