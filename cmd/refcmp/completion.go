package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// completionShells are the shells of cobra's completion command.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

// checkCompletionArgs makes 'refcmp completion SHELL' refuse a shell it
// has no script for (exit 2, listing them), where cobra prints its help
// and exits 0.
func checkCompletionArgs(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Args = func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return usagef("missing SHELL (one of %s)", strings.Join(completionShells, ", "))
			case len(args) > 1:
				return usagef("want one SHELL, got %d arguments", len(args))
			}
			return usagef("unknown shell %q (want one of %s)", args[0], strings.Join(completionShells, ", "))
		}
		c.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Args(cmd, args) }
	}
}
