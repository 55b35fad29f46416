package batch

import (
	"errors"
	"io"

	"github.com/poolblame/poolblame/dumpfile"
)

// errDeclaredEnd stops a decompression at the size the dump's header
// declares: what follows is not part of the dump.
var errDeclaredEnd = errors.New("the dump ends where its header says")

// dumpSink checks a dump as it is decompressed, before the rest is
// written anywhere: its first bytes must start a kernel crash dump (a
// 10 GB run of zeros is refused after 8 KiB, not after 10 GB), and the
// stream is cut at the size the header declares (RequiredDumpSpace), so a
// bomb behind a valid header costs no more than the header claims.
type dumpSink struct {
	w     io.Writer
	held  []byte // the first bytes, passed on once the signature is judged
	sigOK bool
	head  []byte // the first bytes, until the header is judged
	n     int64  // bytes passed on
	limit int64  // the declared size; -1 while unknown
	err   error  // why the stream is not a dump
}

func newDumpSink(w io.Writer) *dumpSink { return &dumpSink{w: w, limit: -1} }

func (s *dumpSink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	took := len(p)
	if !s.sigOK { // nothing is passed on before the signature is right
		s.held = append(s.held, p...)
		if len(s.held) < 8 {
			return took, nil
		}
		if _, err := dumpfile.CheckStart(s.held[:min(len(s.held), dumpfile.StartSize)]); err != nil {
			s.err = err
			return 0, err
		}
		s.sigOK, p, s.held = true, s.held, nil
		s.head = []byte{}
	}
	if s.head != nil { // the size, once the whole header is here
		s.head = append(s.head, p[:min(len(p), dumpfile.StartSize-len(s.head))]...)
		if len(s.head) >= dumpfile.StartSize {
			declared, err := dumpfile.CheckStart(s.head)
			if err != nil {
				s.err = err
				return 0, err
			}
			if declared > 0 {
				s.limit = int64(min(declared, 1<<62))
			}
			s.head = nil
		}
	}
	cut := false
	if s.limit >= 0 && s.n+int64(len(p)) > s.limit {
		p, cut = p[:max(0, s.limit-s.n)], true
	}
	k, err := s.w.Write(p)
	s.n += int64(k)
	if err == nil && cut {
		err = errDeclaredEnd
	}
	if err == nil {
		k = took
	}
	return k, err
}

// finish says whether a copy into the sink ended well: at the end of the
// stream, or at the declared end. A stream shorter than 8 bytes is judged
// here.
func (s *dumpSink) finish(copyErr error) error {
	if s.err != nil {
		return s.err
	}
	if errors.Is(copyErr, errDeclaredEnd) {
		return nil
	}
	if copyErr == nil && !s.sigOK {
		_, err := dumpfile.CheckStart(s.held)
		if err == nil {
			err = errors.New("truncated header")
		}
		s.err = err
		return err
	}
	if copyErr == nil && s.head != nil {
		if _, err := dumpfile.CheckStart(s.head); err != nil {
			s.err = err
			return err
		}
	}
	return copyErr
}

// diskCheck budgets the temporary folder on what is written: before each
// 64 MiB more, the free space must still hold it and the margin, so that
// parallel extractions, or a size field that lied, stop with a clear error
// instead of filling the disk.
type diskCheck struct {
	budget *diskBudget
	name   string
	since  int64 // bytes written since the last check
}

const diskCheckEvery = 64 << 20

func (c *diskCheck) before(n int) error {
	c.since += int64(n)
	if c.since < diskCheckEvery && c.since != int64(n) {
		return nil
	}
	c.since = 0
	free, ok := c.budget.free(c.budget.dir)
	if ok && free < uint64(spaceMargin)+diskCheckEvery {
		return &SpaceError{Dump: c.name, Dir: c.budget.dir, Need: spaceMargin + diskCheckEvery, Free: free}
	}
	return nil
}

// checkedFile writes to a temporary file under a diskCheck.
type checkedFile struct {
	w     io.Writer
	check *diskCheck
}

func (f checkedFile) Write(p []byte) (int, error) {
	if err := f.check.before(len(p)); err != nil {
		return 0, err
	}
	return f.w.Write(p)
}
