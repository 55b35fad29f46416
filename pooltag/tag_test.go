package pooltag

import "testing"

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
