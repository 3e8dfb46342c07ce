package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
)

// runVersion prints the version, the Go version and the VCS revision the
// binary was built from, when known.
func runVersion(_ context.Context, c *cli, args []string) int {
	if len(args) > 0 {
		fmt.Fprintf(c.stderr, "maxbooster: version takes no arguments\n")
		return exitUsage
	}
	rev := ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				rev = " " + s.Value
			}
		}
	}
	fmt.Fprintf(c.stdout, "maxbooster %s (%s%s)\n", version, runtime.Version(), rev)
	return exitOK
}
