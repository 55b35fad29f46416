package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

func isTerminal(w io.Writer) bool {
	f, ok := osFile(w)
	return ok && term.IsTerminal(int(f.Fd()))
}

// osFile is the file under w: w itself, or the file the run's checked
// stdout writes to.
func osFile(w io.Writer) (*os.File, bool) {
	if c, ok := w.(*checkedWriter); ok {
		w = c.w
	}
	f, ok := w.(*os.File)
	return f, ok
}

// terminalEscapes reports whether w is a terminal that interprets ANSI
// escapes (colour, "\033[K"). On Windows that means a console whose
// virtual terminal processing could be turned on; an older console would
// print the escapes as text.
func terminalEscapes(w io.Writer) bool {
	f, ok := osFile(w)
	return ok && term.IsTerminal(int(f.Fd())) && enableEscapes(f)
}

// statusLine redraws one line of progress on a terminal. Where escapes
// work, "\r\033[K" clears the line; elsewhere (an old Windows console) the
// previous text is overwritten with spaces after "\r".
type statusLine struct {
	w     io.Writer
	vt    bool
	shown int // runes of the text on the line now
}

// newStatusLine returns nil when w is not a terminal: then no progress is
// drawn at all.
func newStatusLine(w io.Writer) *statusLine {
	if !isTerminal(w) {
		return nil
	}
	return &statusLine{w: w, vt: terminalEscapes(w)}
}

func (s *statusLine) show(text string) {
	n := len([]rune(text))
	if s.vt {
		fmt.Fprint(s.w, "\r\033[K"+text)
	} else {
		fmt.Fprint(s.w, "\r"+text+strings.Repeat(" ", max(0, s.shown-n)))
	}
	s.shown = n
}

func (s *statusLine) clear() {
	if s.shown == 0 && !s.vt {
		return
	}
	if s.vt {
		fmt.Fprint(s.w, "\r\033[K")
	} else {
		fmt.Fprint(s.w, "\r"+strings.Repeat(" ", s.shown)+"\r")
	}
	s.shown = 0
}
