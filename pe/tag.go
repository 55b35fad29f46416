package pe

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// protectedBit is set on tags of protected allocations on Windows 7 and
// older. The same allocation site may use the tag with or without it, so
// every comparison masks it.
const protectedBit = 0x80000000

// maskTag clears the protected bit.
func maskTag(t uint32) uint32 { return t &^ protectedBit }

// tagString shows a tag in display order (its little-endian bytes), with
// non-printable bytes as \xNN so that a garbled value never garbles output.
func tagString(t uint32) string {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], t)
	var sb strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7F {
			sb.WriteByte(c)
		} else {
			fmt.Fprintf(&sb, `\x%02x`, c)
		}
	}
	return sb.String()
}

// tagLike reports whether all four bytes of the masked tag are printable
// ASCII, as real pool tags are. Evidence for other values is kept only when
// a caller asks for them by name, which keeps a catalog small.
func tagLike(t uint32) bool {
	t = maskTag(t)
	for i := 0; i < 4; i++ {
		c := byte(t >> (8 * i))
		if c < 0x20 || c > 0x7E {
			return false
		}
	}
	return true
}
