package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/internal/realdata"
)

// A panic is an internal error: its own status, one line asking for a
// report, the stack only on request.
func TestInternalError(t *testing.T) {
	for _, trace := range []bool{false, true} {
		var errb bytes.Buffer
		st := guardRun(&errb, trace, func() int { var m map[string]int; m["x"]++; return 0 })
		s := errb.String()
		if st != exitInternal || st == exitError {
			t.Errorf("status %d, want %d", st, exitInternal)
		}
		if !strings.Contains(s, "internal error") || !strings.Contains(s, "please report") {
			t.Errorf("message %q", s)
		}
		if lines := strings.Count(s, "\n"); trace != (lines > 1) || !trace && !strings.Contains(s, traceEnv+"=1") {
			t.Errorf("trace %v: %d lines: %q", trace, lines, s)
		}
	}
	var errb bytes.Buffer
	if st := guardRun(&errb, false, func() int { return exitError }); st != exitError || errb.Len() != 0 {
		t.Errorf("no panic: status %d, %q", st, errb.String())
	}
}

// A DumpIt capture is named as one, not as a hex bug check.
func TestInfoDumpIt(t *testing.T) {
	p := realdata.Path(t, "headers/dumpit_full_19045_first16k.bin")
	out, _, st := runCmd(t, "info", p)
	if st != exitOK || !strings.Contains(out, "memory capture (DumpIt)") || strings.Contains(strings.ToLower(out), "0x5454414d") {
		t.Errorf("status %d:\n%s", st, out)
	}
	out, _, _ = runCmd(t, "report", p)
	if !strings.Contains(out, "memory capture (DumpIt)") || strings.Contains(strings.ToLower(out), "0x5454414d") {
		t.Errorf("report:\n%s", out)
	}
}
