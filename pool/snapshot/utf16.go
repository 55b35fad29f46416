package snapshot

import (
	"bufio"
	"io"
	"unicode/utf16"
	"unicode/utf8"
)

// Output redirected by PowerShell ("poolmon -b > x.txt") or logged with
// WinDbg's .logopen /u is UTF-16 with a byte-order mark; everything else
// these tools write is single-byte text. decodeUTF16 turns the former into
// UTF-8 and passes the latter through.
func decodeUTF16(r io.Reader) io.Reader {
	if _, ok := r.(*utf16Reader); ok {
		return r
	}
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReader(r)
	}
	bom, _ := br.Peek(2)
	switch {
	case len(bom) == 2 && bom[0] == 0xFF && bom[1] == 0xFE:
		_, _ = br.Discard(2) // the two bytes Peek just read: cannot fail
		return &utf16Reader{r: br}
	case len(bom) == 2 && bom[0] == 0xFE && bom[1] == 0xFF:
		_, _ = br.Discard(2) // the two bytes Peek just read: cannot fail
		return &utf16Reader{r: br, big: true}
	}
	return br
}

// decodeHead is decodeUTF16 for a prefix already in memory; an odd last
// byte or a split surrogate at the end of the prefix is dropped.
func decodeHead(head []byte) []byte {
	if len(head) < 2 {
		return head
	}
	big := head[0] == 0xFE && head[1] == 0xFF
	if !big && !(head[0] == 0xFF && head[1] == 0xFE) {
		return head
	}
	var u []uint16
	for i := 2; i+1 < len(head); i += 2 {
		if big {
			u = append(u, uint16(head[i])<<8|uint16(head[i+1]))
		} else {
			u = append(u, uint16(head[i+1])<<8|uint16(head[i]))
		}
	}
	return []byte(string(utf16.Decode(u)))
}

type utf16Reader struct {
	r       *bufio.Reader
	big     bool
	pending []byte // UTF-8 not yet returned
	err     error
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.pending) == 0 {
		if u.err != nil {
			return 0, u.err
		}
		u.fill()
	}
	n := copy(p, u.pending)
	u.pending = u.pending[n:]
	return n, nil
}

// fill decodes up to 4 KiB of input into pending.
func (u *utf16Reader) fill() {
	var buf [utf8.UTFMax]byte
	for i := 0; i < 2048; i++ {
		c, err := u.unit()
		if err != nil {
			u.err = err
			return
		}
		r := rune(c)
		if utf16.IsSurrogate(r) {
			c2, err := u.unit()
			if err != nil {
				u.err = err
				r = utf8.RuneError
			} else {
				r = utf16.DecodeRune(r, rune(c2))
			}
		}
		n := utf8.EncodeRune(buf[:], r)
		u.pending = append(u.pending, buf[:n]...)
	}
}

func (u *utf16Reader) unit() (uint16, error) {
	var b [2]byte
	if _, err := io.ReadFull(u.r, b[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			err = io.EOF // an odd trailing byte carries no character
		}
		return 0, err
	}
	if u.big {
		return uint16(b[0])<<8 | uint16(b[1]), nil
	}
	return uint16(b[1])<<8 | uint16(b[0]), nil
}
