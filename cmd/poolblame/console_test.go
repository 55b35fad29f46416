package main

import (
	"os"
	"strings"
	"testing"
)

// Progress redraws its line with escapes where the terminal takes them,
// and with "\r" and spaces alone in a console that would print them.
func TestStatusLine(t *testing.T) {
	tests := []struct {
		vt   bool
		want string
	}{
		{true, "\r\033[K[ 1.0s] reading...\r\033[K[ 2.0s] tags...\r\033[K"},
		{false, "\r[ 1.0s] reading...\r[ 2.0s] tags...   \r" + strings.Repeat(" ", 15) + "\r"},
	}
	for _, tt := range tests {
		var b strings.Builder
		s := &statusLine{w: &b, vt: tt.vt}
		s.show("[ 1.0s] reading...")
		s.show("[ 2.0s] tags...")
		s.clear()
		if b.String() != tt.want {
			t.Errorf("vt=%v: %q, want %q", tt.vt, b.String(), tt.want)
		}
	}
	// Not a terminal: no progress line at all, and no colour in auto mode.
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if newStatusLine(f) != nil || terminalEscapes(f) {
		t.Error("a file is treated as a terminal")
	}
	t.Setenv("NO_COLOR", "")
	if c, _ := useColor("auto", f); c {
		t.Error("colour chosen for a file")
	}
}
