// Command poolblame finds the driver behind a Windows kernel pool leak from
// a crash dump: it rebuilds !poolused totals from the dump's pool tracker
// tables, names the driver that owns each leading tag, and writes a
// culprit report.
//
// Usage:
//
//	poolblame DUMP [--drivers DIR]...      culprit report (the main job)
//	poolblame info DUMP                    what the dump is
//	poolblame poolused DUMP                !poolused from the dump alone
//	poolblame tag TAG... [--drivers DIR]   which driver owns a tag
//	poolblame batch PATH...                many dumps, with trends
package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// traceEnv, when set to 1, makes an internal error print its stack.
const traceEnv = "POOLBLAME_TRACE"

// command is one subcommand: it parses its own flags from args and
// returns the process exit status.
type command struct {
	run     func(args []string, stdout, stderr io.Writer) int
	summary string
}

func commands() map[string]command {
	return map[string]command{
		"info":     {runInfo, "describe a dump: OS build, type, bugcheck, KDBG, modules"},
		"poolused": {runPoolused, "rebuild !poolused tag totals from the dump alone"},
		"tag":      {runTag, "name the driver that owns each pool tag"},
		"poolfind": {runPoolfind, "find every pool block of the given tags (!poolfind), in one pass"},
		"report":   {runReport, "the culprit report (also: poolblame DUMP)"},
		"batch":    {runBatch, "analyse many dumps and snapshots, with trends"},
		"live":     {runLive, "sample the running kernel's pool tags like poolmon (Windows), then the culprit report with the growth measured"},
	}
}

func main() {
	os.Exit(guardRun(os.Stderr, os.Getenv(traceEnv) == "1", func() int {
		return run(os.Args[1:], os.Stdout, os.Stderr)
	}))
}

// guardRun runs fn and turns a panic into one line asking for a report
// and exitInternal; the stack only when asked for (POOLBLAME_TRACE=1).
func guardRun(stderr io.Writer, trace bool, fn func() int) (code int) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		msg := strings.Join(strings.Fields(fmt.Sprint(p)), " ")
		fmt.Fprintf(stderr, "poolblame: internal error (a bug in poolblame, not in the input; please report it with the command line): %s", msg)
		if trace {
			fmt.Fprintf(stderr, "\n%s", debug.Stack())
		} else {
			fmt.Fprintf(stderr, " (%s=1 prints the stack)\n", traceEnv)
		}
		code = exitInternal
	}()
	return fn()
}
