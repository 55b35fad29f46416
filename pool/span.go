package pool

import (
	"errors"
	"fmt"

	"github.com/poolblame/poolblame/dumpfile"
)

// span is a stretch of kernel virtual memory read page by page. Pages the
// dump cannot give are recorded, never filled in.
type span struct {
	va      uint64
	b       []byte
	missing []gap // sorted, page granular
}

// gap is an unreadable stretch and why.
type gap struct {
	va, n uint64
	err   error
}

// virtualReader reads virtual memory: the kernel's (*dumpfile.File) or a
// process's address space (*dumpfile.Space), where session space lives.
type virtualReader interface {
	ReadVirtual(va uint64, b []byte) (int, error)
}

func readSpan(f virtualReader, va uint64, n int) *span {
	s := &span{va: va, b: make([]byte, n)}
	for off := 0; off < n; {
		a := va + uint64(off)
		chunk := min(n-off, int(dumpfile.PageSize-a&(dumpfile.PageSize-1)))
		if _, err := f.ReadVirtual(a, s.b[off:off+chunk]); err != nil {
			if k := len(s.missing) - 1; k >= 0 && s.missing[k].va+s.missing[k].n == a && sameKind(s.missing[k].err, err) {
				s.missing[k].n += uint64(chunk)
			} else {
				s.missing = append(s.missing, gap{a, uint64(chunk), err})
			}
		}
		off += chunk
	}
	return s
}

func sameKind(a, b error) bool {
	return errors.Is(rootErr(a), rootErr(b))
}

// rootErr reduces an address error to its kind for grouping.
func rootErr(err error) error {
	for _, k := range []error{dumpfile.ErrPageAbsent, dumpfile.ErrNotMapped, dumpfile.ErrTruncated} {
		if errors.Is(err, k) {
			return k
		}
	}
	return err
}

// readable reports whether [off, off+n) was read in full.
func (s *span) readable(off, n int) bool {
	a, e := s.va+uint64(off), s.va+uint64(off+n)
	for _, g := range s.missing {
		if g.va < e && a < g.va+g.n {
			return false
		}
	}
	return true
}

// describe says what was missing, for reports: "0x1000 bytes at 0x...: physical page absent from the dump".
func (s *span) describe() []string {
	var out []string
	for _, g := range s.missing {
		out = append(out, fmt.Sprintf("%#x bytes at %#x: %v", g.n, g.va, rootErr(g.err)))
	}
	return out
}
