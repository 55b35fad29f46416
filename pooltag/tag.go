package pooltag

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"strings"
)

// Tag is a pool tag as the kernel stores it: four bytes read as a
// little-endian uint32, so the bytes in memory spell the tag in display
// order ('ISil' is I, S, i, l at increasing addresses).
type Tag uint32

// ProtectedBit is set on tags of protected allocations on Windows 7 and
// older; tracker keys never carry it.
const ProtectedBit Tag = 0x80000000

// ParseTag turns a display string of one to four characters into a Tag.
// Shorter tags are padded with spaces, as the kernel pads 'Mm  '.
func ParseTag(s string) (Tag, error) {
	if len(s) == 0 || len(s) > 4 {
		return 0, fmt.Errorf("pool tag %q: want 1 to 4 characters", s)
	}
	var b [4]byte
	for i := range b {
		if i < len(s) {
			b[i] = s[i]
		} else {
			b[i] = ' '
		}
	}
	return Tag(binary.LittleEndian.Uint32(b[:])), nil
}

// MustTag is ParseTag for constants in tests and tables; it panics on a
// malformed literal.
func MustTag(s string) Tag {
	t, err := ParseTag(s)
	if err != nil {
		panic(err)
	}
	return t
}

// Bytes returns the tag's four bytes in display order.
func (t Tag) Bytes() [4]byte {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], uint32(t))
	return b
}

// String returns the tag in display order. Non-printable bytes are shown
// as \xNN so that a corrupt key never garbles a report.
func (t Tag) String() string {
	b := t.Bytes()
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

// Trimmed is String without the trailing pad spaces of short tags.
func (t Tag) Trimmed() string { return strings.TrimRight(t.String(), " ") }

// Less orders tags as their display strings sort, byte by byte, without
// building the strings (sorting thousands of tags compares them often).
func (t Tag) Less(u Tag) bool { return bits.ReverseBytes32(uint32(t)) < bits.ReverseBytes32(uint32(u)) }

// Unprotected clears the protected bit.
func (t Tag) Unprotected() Tag { return t &^ ProtectedBit }

// Printable reports whether all four bytes of the unprotected tag are
// printable ASCII, as real pool tags are: a code scan keeps evidence for
// other values only when a caller asks for them by name.
//
// Pool scans ask it of every header they find, so it tests the four bytes
// at once: a byte below 0x20 borrows into its top bit when 0x20 is taken
// from it (and the top bit of the byte itself is clear); a byte above 0x7E
// has its top bit set, or sets it when 1 is added. A borrow or carry
// between bytes happens only where some byte already failed.
func (t Tag) Printable() bool {
	x := uint32(t.Unprotected())
	const ones, tops = 0x01010101, 0x80808080
	below := (x - 0x20*ones) &^ x
	above := x + ones | x
	return (below|above)&tops == 0
}
