package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// Each command declares its flags inline, next to their use, in its run
// function. cobra needs them before anything runs (help, completion, its own
// parse): the command tree learns them by calling the run function with a
// flagCollector as stderr. newFlags then hands out the collector's flag set
// and parseFlags stops the function there, before it reads any argument.
type flagCollector struct {
	fs   *pflag.FlagSet
	args string // the usage line after the command's name
}

// collectName names the collector's flag set, for parseFlags to know it.
const collectName = "\x00collect"

func newCollector() *flagCollector {
	return &flagCollector{fs: pflag.NewFlagSet(collectName, pflag.ContinueOnError)}
}

func (*flagCollector) Write(p []byte) (int, error) { return len(p), nil }

// newFlags returns a flag set that reports errors instead of exiting; its
// usage is one line and a hint, on stderr.
func newFlags(name, args string, stderr io.Writer) *pflag.FlagSet {
	if c, ok := stderr.(*flagCollector); ok {
		c.args = args
		return c.fs
	}
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: poolblame %s %s\n%s\n", name, args, helpHint(name))
	}
	return fs
}

// parseFlags parses args; it returns ok=false and the exit status when the
// command must stop (help asked: 0, bad flags: 2, flags collected: 0). A
// bad flag is one line naming it, and a hint.
func parseFlags(fs *pflag.FlagSet, args []string) (status int, ok bool) {
	if fs.Name() == collectName {
		return exitOK, false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK, false
		}
		fmt.Fprintf(fs.Output(), "poolblame: %v\n%s\n", err, helpHint(fs.Name()))
		return exitError, false
	}
	return exitOK, true
}

// helpHint is the line after a usage error.
func helpHint(name string) string {
	if name == "" || name == "[report]" { // the root: poolblame DUMP
		return "Run 'poolblame --help' for usage."
	}
	return fmt.Sprintf("Run 'poolblame %s --help' for usage.", name)
}

// fail prints one line for an error and returns exit status 2. A failed
// write to stdout is left to run, which says so once and exits 74.
func fail(stderr io.Writer, err error) int {
	if oe := new(outputError); errors.As(err, &oe) {
		return exitOutput
	}
	fmt.Fprintf(stderr, "poolblame: %v\n", err)
	return exitError
}
