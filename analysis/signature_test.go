package analysis

import (
	"testing"

	"github.com/poolblame/poolblame/pe"
)

// One sentence per signature state, and a hash that was never checked is
// never called a mismatch.
func TestSignature(t *testing.T) {
	file := func(s pe.Signature) *pe.Driver { return &pe.Driver{Signature: s} }
	tests := []struct {
		name string
		d    *pe.Driver
		src  CandidateSource
		want SignatureState
		text string
	}{
		{"in memory", file(pe.Signature{}), FromDumpImage, SignatureNotInMemory,
			"not in memory (signatures are not mapped; index the file with --drivers)"},
		{"unsigned", file(pe.Signature{Note: "x"}), FromFolder, Unsigned, "no embedded signature (may be catalog-signed)"},
		{"matches", file(pe.Signature{Embedded: true, Signer: "A", Issuer: "B", Digest: "SHA-256", HashChecked: true, HashMatches: true}),
			FromFolder, SignedHashMatches, "signed by A (issuer B, SHA-256), hash matches"},
		{"mismatch, dual", file(pe.Signature{Embedded: true, Signer: "A", Issuer: "B", Digest: "SHA1", HashChecked: true, Nested: []string{"C"}}),
			FromFolder, SignedHashMismatch, "signed by A (issuer B, SHA1), HASH DOES NOT MATCH; also signed by C"},
		{"unknown digest", file(pe.Signature{Embedded: true, Signer: "A", Issuer: "B", Note: "digest not recognised"}),
			FromFolder, SignedUnchecked, "signed by A (issuer B), hash not checked: digest not recognised"},
		{"unreadable", file(pe.Signature{Embedded: true, Note: "unreadable"}),
			FromFolder, SignedUnchecked, "embedded signature, signer unreadable, hash not checked: unreadable"},
	}
	for _, tc := range tests {
		s := SignatureOf(tc.d, tc.src)
		if s.State != tc.want || s.String() != tc.text {
			t.Errorf("%s: %v %q, want %v %q", tc.name, s.State, s.String(), tc.want, tc.text)
		}
	}
	if got := (Signature{}).String(); got != "n/a (pooltag.txt entry)" {
		t.Errorf("pooltag entry: %q", got)
	}
}
