package main

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// Every flag error: status 2, nothing on stdout, one line naming the
// problem and one hint naming the command's help.
func TestFlagErrors(t *testing.T) {
	tests := []struct {
		args       []string
		want, hint string
	}{
		{[]string{"--bogus", sample2003}, "unknown flag: --bogus", "poolblame --help"},
		{[]string{"--top", "abc", sample2003}, `invalid argument "abc" for "--top"`, "poolblame --help"},
		{[]string{sample2003, "--top"}, "flag needs an argument: --top", "poolblame --help"},
		{[]string{"report", "--format"}, "flag needs an argument: --format", "poolblame report --help"},
		{[]string{"info", "--bogus", sample2003}, "unknown flag: --bogus", "poolblame info --help"},
		{[]string{"poolused", "--top", "x", sample2003}, `invalid argument "x" for "--top"`, "poolblame poolused --help"},
		{[]string{"tag", "-z", "ISil"}, "unknown shorthand flag: 'z'", "poolblame tag --help"},
		{[]string{"batch", "-j"}, "flag needs an argument: 'j'", "poolblame batch --help"},
		{[]string{"version", "extra"}, `unknown command "extra"`, "poolblame version --help"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errs, st := runCmd(t, tt.args...)
			lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
			if st != exitError || out != "" || len(lines) != 2 {
				t.Fatalf("status %d, stdout %q, stderr %q: want 2, nothing, two lines", st, out, errs)
			}
			if !strings.HasPrefix(lines[0], "poolblame: ") || !strings.Contains(lines[0], tt.want) {
				t.Errorf("error line %q, want it to hold %q", lines[0], tt.want)
			}
			if !strings.Contains(lines[1], "'"+tt.hint+"'") {
				t.Errorf("hint %q, want it to name %q", lines[1], tt.hint)
			}
		})
	}
}

// Help asked for goes to stdout with status 0.
func TestHelp(t *testing.T) {
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"poolblame DUMP [--drivers DIR]...", "Available Commands:", "poolused", "--third-party"}},
		{[]string{"-h"}, []string{"Available Commands:"}},
		{[]string{"help"}, []string{"Available Commands:"}},
		{[]string{"help", "tag"}, []string{"poolblame tag TAG...", "--list-tags", "name the driver that owns each pool tag"}},
		{[]string{"tag", "--help"}, []string{"poolblame tag TAG...", "--list-tags"}},
		{[]string{"poolused", "-h", sample2003}, []string{"poolblame poolused DUMP", "--sort"}},
		{[]string{"batch", "--help"}, []string{"poolblame batch PATH...", "--group-by"}},
		{[]string{"help", "version"}, []string{"poolblame version"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out, errs, st := runCmd(t, tt.args...)
			if st != exitOK || errs != "" {
				t.Fatalf("status %d, stderr %q", st, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("help lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// No arguments at all is a usage error, not help.
	if out, errs, st := runCmd(t); st != exitError || out != "" || !strings.HasPrefix(errs, "usage: poolblame DUMP") {
		t.Errorf("no arguments: status %d, stdout %q, stderr %q", st, out, errs)
	}
}

func TestMistypedCommand(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"inof", sample2003}, `unknown command "inof"; did you mean "info"?`},
		{[]string{"batc", "x"}, `did you mean "batch"?`},
		{[]string{"pooluse"}, `did you mean "poolused"?`},
		{[]string{"nosuchcmd"}, `"nosuchcmd" is neither a command nor a file`},
	}
	for _, tt := range tests {
		_, errs, st := runCmd(t, tt.args...)
		if st != exitError || !strings.Contains(errs, tt.want) || strings.Contains(errs, "stat ") {
			t.Errorf("%v: status %d, stderr %q, want %q", tt.args, st, errs, tt.want)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-v"}, {"version"}} {
		out, errs, st := runCmd(t, args...)
		if st != exitOK || errs != "" || !strings.HasPrefix(out, "poolblame ") || strings.Count(out, "\n") != 1 ||
			!strings.Contains(out, runtime.GOOS+"/"+runtime.GOARCH) {
			t.Errorf("%v: status %d, stdout %q, stderr %q", args, st, out, errs)
		}
	}
	bi := &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	plat := runtime.GOOS + "/" + runtime.GOARCH
	tests := []struct {
		name, stamped, commit string
		bi                    *debug.BuildInfo
		want                  string
	}{
		{"go install @tag", "", "", bi, "v1.4.0 (commit 0123456789ab, 2026-11-30T10:00:00Z, modified) go1.99.1 " + plat},
		{"release stamp wins", "v1.5.0", "fedcba9876543210", bi, "v1.5.0 (commit fedcba987654, 2026-11-30T10:00:00Z, modified) go1.99.1 " + plat},
		{"checkout build", "", "", &debug.BuildInfo{GoVersion: "go1.99.1", Main: debug.Module{Version: "(devel)"}}, "(devel) go1.99.1 " + plat},
		{"no build info", "", "", nil, "unknown " + runtime.Version() + " " + plat},
	}
	for _, tt := range tests {
		if got := readVersion(tt.stamped, tt.commit, tt.bi, tt.bi != nil).String(); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestCompletion(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"completion", "bash"}, "__start_poolblame"},
		{[]string{"completion", "zsh"}, "#compdef poolblame"},
		{[]string{"completion", "fish"}, "complete -c poolblame"},
		{[]string{"completion", "powershell"}, "Register-ArgumentCompleter"},
		// What the scripts ask the program: flags, values, commands.
		{[]string{"__complete", "poolused", "--so"}, "--sort"},
		{[]string{"__complete", "tag", "--li"}, "--list-tags"},
		{[]string{"__complete", "--color", ""}, "always"},
		{[]string{"__complete", "ba"}, "batch"},
	}
	for _, tt := range tests {
		out, _, st := runCmd(t, tt.args...)
		if st != exitOK || !strings.Contains(out, tt.want) {
			t.Errorf("%v: status %d, output lacks %q:\n%.300s", tt.args, st, tt.want, out)
		}
	}
}
