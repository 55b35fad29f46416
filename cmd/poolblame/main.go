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
	"io"
	"os"
)

// Exit statuses shared by every subcommand.
const (
	exitOK    = 0
	exitFound = 1 // tag: some tags were not found (grep's convention)
	exitError = 2 // bad input or usage
)

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
		"report":   {runReport, "the culprit report (also: poolblame DUMP)"},
		"batch":    {runBatch, "analyse many dumps and snapshots, with trends"},
	}
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}
