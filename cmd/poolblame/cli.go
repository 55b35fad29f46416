package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// commandOrder is the order of the commands in help.
var commandOrder = []string{"report", "info", "poolused", "poolfind", "tag", "batch", "live"}

// newRoot builds the command tree for one run. The root is the report
// itself (poolblame DUMP). cobra parses the flags first, for its one-line
// errors, help, --version and completion; each command's run function then
// gets the raw arguments and parses them again, as it always has.
func newRoot(args []string, stdout, stderr io.Writer, status *int) *cobra.Command {
	cmds := commands()
	root := &cobra.Command{
		Use:   "poolblame",
		Short: "find the driver behind a Windows kernel pool leak, from a crash dump",
		Long: `poolblame finds the driver behind a Windows kernel pool leak from a crash dump,
without symbols: it rebuilds !poolused totals from the dump's pool tracker
tables, names the driver that owns each leading tag, and writes a culprit
report. "poolblame DUMP" is "poolblame report DUMP".`,
		Version:       currentVersion().String(),
		Args:          cobra.ArbitraryArgs,
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(c *cobra.Command, pos []string) error {
			if len(pos) == 0 {
				fmt.Fprintf(stderr, "usage: %s\n%s\n", c.UseLine(), helpHint(""))
				*status = exitError
				return nil
			}
			if err := notACommand(c, pos[0]); err != nil {
				return err
			}
			*status = cmds["report"].run(args, stdout, stderr)
			return nil
		},
	}
	root.SetVersionTemplate("poolblame {{.Version}}\n")
	root.SuggestionsMinimumDistance = 2
	root.DisableFlagsInUseLine = true
	root.Use = "poolblame " + declare(root, cmds["report"].run)
	// Commands missing from commandOrder still run, after the others.
	names := slices.Clone(commandOrder)
	for _, name := range slices.Sorted(maps.Keys(cmds)) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	for _, name := range names {
		c, ok := cmds[name]
		if !ok {
			continue
		}
		sub := &cobra.Command{
			Short:                 c.summary,
			Args:                  cobra.ArbitraryArgs,
			DisableFlagsInUseLine: true,
			RunE: func(*cobra.Command, []string) error {
				*status = c.run(without(args, name), stdout, stderr)
				return nil
			},
		}
		sub.Use = name + " " + declare(sub, c.run)
		root.AddCommand(sub)
	}
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "print the version, commit and Go version",
		Args:  cobra.NoArgs,
		Run: func(c *cobra.Command, _ []string) {
			fmt.Fprintf(c.OutOrStdout(), "poolblame %s\n", currentVersion())
		},
	})
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	return root
}

// declare gives c the flags run declares, and returns run's usage line.
func declare(c *cobra.Command, run func([]string, io.Writer, io.Writer) int) string {
	col := newCollector()
	run(nil, io.Discard, col)
	c.Flags().AddFlagSet(col.fs)
	c.Flags().SortFlags = false
	if c.Flags().Lookup("color") != nil {
		// It fails only for a flag that is missing or already has a
		// completion: a mistake in this function, never the user's.
		if err := c.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp)); err != nil {
			panic(err)
		}
	}
	return col.args
}

// notACommand refuses a first argument that is neither a file nor a
// command, suggesting the command it resembles.
func notACommand(root *cobra.Command, word string) error {
	if _, err := os.Stat(word); err == nil {
		return nil
	}
	if s := root.SuggestionsFor(word); len(s) > 0 {
		return fmt.Errorf("unknown command %q; did you mean %q?", word, s[0])
	}
	if !strings.ContainsAny(word, `./\:`) {
		return fmt.Errorf("%q is neither a command nor a file", word)
	}
	return nil // a path: the report names the file and what is wrong
}

// without returns args without the first occurrence of name: what cobra
// passed over to reach the subcommand.
func without(args []string, name string) []string {
	i := slices.Index(args, name)
	if i < 0 {
		return args
	}
	return slices.Concat(args[:i], args[i+1:])
}

// run executes one command line and returns the exit status. A failed
// write to stdout (a full disk, a closed pipe) is an error of the run,
// whatever the command returned: its output is incomplete.
func run(args []string, stdout, stderr io.Writer) int {
	status := exitOK
	out := &checkedWriter{w: stdout}
	root := newRoot(args, out, stderr, &status)
	c, err := root.ExecuteC()
	if err != nil {
		name := ""
		if c != root {
			name = c.Name()
		}
		fmt.Fprintf(stderr, "poolblame: %v\n%s\n", err, helpHint(name))
		return exitError
	}
	if out.err != nil {
		fmt.Fprintf(stderr, "poolblame: writing the output: %v\n", out.err)
		return exitOutput
	}
	return status
}
