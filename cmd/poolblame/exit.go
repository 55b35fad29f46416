package main

import "io"

// Exit statuses, every command's in one place (README "Exit status").
const (
	exitOK = 0
	// exitFound: tag found no driver for some tags (grep's convention).
	exitFound = 1
	// exitSomeFailed: batch could not analyse some inputs (they are
	// listed in the summary with their errors).
	exitSomeFailed = 1
	// exitError: bad input or usage; one line on stderr names the file
	// and the problem.
	exitError = 2
	// exitNoPool: the dump cannot support a pool analysis (triage dump,
	// tracker tables unreadable); the rest of the output is written.
	exitNoPool = 3
	// exitInternal is a bug in poolblame (a panic), never the input's
	// fault: scripts tell it from exitError. 70 is sysexits' EX_SOFTWARE.
	exitInternal = 70
	// exitOutput: the output could not be written (disk full, closed
	// pipe), so what was written is incomplete. 74 is sysexits' EX_IOERR.
	exitOutput = 74
)

// checkedWriter remembers the first write error, so a command that
// prints many lines is checked once, at the end of the run.
type checkedWriter struct {
	w   io.Writer
	err error
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err != nil {
		c.err = &outputError{err}
		return n, c.err
	}
	return n, nil
}

// outputError is a failed write to stdout. Commands return it up like
// any error; fail recognises it so that the run prints one line about
// the output, not a second one about the command.
type outputError struct{ err error }

func (e *outputError) Error() string { return e.err.Error() }
func (e *outputError) Unwrap() error { return e.err }
