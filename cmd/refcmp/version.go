package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

const versionDoc = `Print refcmp's version.

The version is the module version when refcmp was installed with
'go install github.com/refcmp/refcmp/cmd/refcmp@VERSION'. A build from a
checkout prints "devel", followed by the VCS revision when Go recorded one.`

const versionExample = `  refcmp version
  refcmp --version`

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print refcmp's version",
		Long:    versionDoc,
		Example: versionExample,
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(a.stdout, "refcmp %s\n", buildVersion())
			return err
		},
	}
}

// buildVersion reads the version Go stamped into the binary. It is "devel"
// for builds from a checkout, with the revision (and "+dirty") when the
// build recorded VCS information.
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return "devel " + rev
}
