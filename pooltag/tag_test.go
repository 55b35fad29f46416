package pooltag

import (
	"math/rand/v2"
	"testing"
)

func TestTag(t *testing.T) {
	isil := Tag(0x6C695349) // 'I','S','i','l' at increasing addresses
	for _, c := range []struct {
		name string
		got  any
		want any
	}{
		{"MustTag", MustTag("ISil"), isil},
		{"padding", MustTag("Mm"), Tag(0x20206D4D)},
		{"String", isil.String(), "ISil"},
		{"Trimmed", MustTag("Mm").Trimmed(), "Mm"},
		{"unprintable", Tag(0x00016D4D).String(), `Mm\x01\x00`},
		{"Unprotected", (isil | ProtectedBit).Unprotected(), isil},
		{"Printable", isil.Printable(), true},
		{"Printable protected", (isil | ProtectedBit).Printable(), true},
		{"Printable control byte", Tag(0x6C690049).Printable(), false},
		{"Less", MustTag("ABCD").Less(MustTag("ABCE")), true},
		{"Less by first byte", MustTag("BAAA").Less(MustTag("ABBB")), false},
		{"Match exact", MustTag("Mm").Match("Mm"), true},
		{"Match star", isil.Match("IS*"), true},
		{"Match question", isil.Match("I?il"), true},
		{"no match", isil.Match("I1*"), false},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	for _, bad := range []string{"", "toolong"} {
		if _, err := ParseTag(bad); err == nil {
			t.Errorf("ParseTag(%q): no error", bad)
		}
	}
}

// Printable tests four bytes at once; every tag built from bytes at and
// around its limits (and random ones) gets the answer byte by byte gives.
func TestPrintableBytes(t *testing.T) {
	byByte := func(t Tag) bool {
		t = t.Unprotected()
		for i := range 4 {
			if c := byte(t >> (8 * i)); c < 0x20 || c > 0x7E {
				return false
			}
		}
		return true
	}
	edges := []uint32{0, 1, 0x1F, 0x20, 0x21, 0x41, 0x7D, 0x7E, 0x7F, 0x80, 0x9F, 0xA0, 0xDF, 0xE0, 0xFE, 0xFF}
	var tags []Tag
	for _, a := range edges {
		for _, b := range edges {
			for _, c := range edges {
				for _, d := range edges {
					tags = append(tags, Tag(a|b<<8|c<<16|d<<24))
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 16 {
		tags = append(tags, Tag(rng.Uint32()))
	}
	for _, tg := range tags {
		if got, want := tg.Printable(), byByte(tg); got != want {
			t.Fatalf("%#08x: Printable %v, byte by byte %v", uint32(tg), got, want)
		}
	}
}
