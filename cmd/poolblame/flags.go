package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// newFlags returns a flag set that reports errors instead of exiting and
// writes its usage to stderr.
func newFlags(name, args string, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: poolblame %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; it returns ok=false and the exit status when the
// command must stop (help asked: 0, bad flags: 2).
func parseFlags(fs *pflag.FlagSet, args []string) (status int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK, false
		}
		return exitError, false
	}
	return exitOK, true
}

// fail prints one line for an error and returns exit status 2.
func fail(stderr io.Writer, err error) int {
	fmt.Fprintf(stderr, "poolblame: %v\n", err)
	return exitError
}
