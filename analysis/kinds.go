package analysis

import (
	"fmt"
	"strings"
)

// Confidence is how sure the verdict is of its culprit. The order is
// meaningful: a larger value is more sure.
type Confidence int

const (
	// NoConfidence: no culprit can be named.
	NoConfidence Confidence = iota
	Low
	Medium
	High
)

var confidenceNames = [...]string{"none", "low", "medium", "high"}

func (c Confidence) String() string {
	if c >= 0 && int(c) < len(confidenceNames) {
		return confidenceNames[c]
	}
	return fmt.Sprintf("Confidence(%d)", int(c))
}

// MarshalText names the confidence in JSON.
func (c Confidence) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// PoolType is the pool a tag's bytes were allocated from.
type PoolType int

const (
	NonPaged PoolType = iota
	Paged
)

func (p PoolType) String() string {
	switch p {
	case NonPaged:
		return "nonpaged"
	case Paged:
		return "paged"
	}
	return fmt.Sprintf("PoolType(%d)", int(p))
}

// MarshalText names the pool in JSON.
func (p PoolType) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Owner is who made a driver.
type Owner int

const (
	// OwnerUnknown: no file was examined (a pooltag.txt entry only).
	OwnerUnknown Owner = iota
	OwnerMicrosoft
	OwnerThirdParty
)

func (o Owner) String() string {
	switch o {
	case OwnerUnknown:
		return "unknown"
	case OwnerMicrosoft:
		return "Microsoft"
	case OwnerThirdParty:
		return "third party"
	}
	return fmt.Sprintf("Owner(%d)", int(o))
}

// MarshalText names the owner in JSON.
func (o Owner) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// CandidateSource is where a candidate driver was found.
type CandidateSource int

const (
	// FromFolder: a driver file in a --drivers folder.
	FromFolder CandidateSource = iota
	// FromDumpImage: the driver's image as loaded, read from the dump.
	FromDumpImage
	// FromPooltag: a pooltag.txt line naming a binary; no file behind it.
	FromPooltag
)

func (s CandidateSource) String() string {
	switch s {
	case FromFolder:
		return "folder"
	case FromDumpImage:
		return "dump image"
	case FromPooltag:
		return "pooltag.txt"
	}
	return fmt.Sprintf("CandidateSource(%d)", int(s))
}

// MarshalText names the source in JSON.
func (s CandidateSource) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// CheckStatus is what became of a check.
type CheckStatus int

const (
	// NotRun: the data the check needs is missing.
	NotRun CheckStatus = iota
	Passed
	Failed
)

func (s CheckStatus) String() string {
	switch s {
	case NotRun:
		return "not run"
	case Passed:
		return "passed"
	case Failed:
		return "failed"
	}
	return fmt.Sprintf("CheckStatus(%d)", int(s))
}

// MarshalText names the status in JSON.
func (s CheckStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// SignatureState is what is known of a candidate file's signature.
type SignatureState int

const (
	// SignatureNotApplicable: no file (a pooltag.txt entry).
	SignatureNotApplicable SignatureState = iota
	// SignatureNotInMemory: an image read from the dump; signatures are
	// not mapped.
	SignatureNotInMemory
	// Unsigned: no embedded signature (the file may be catalog-signed).
	Unsigned
	// SignedHashMatches: embedded signature whose hash matches the file.
	SignedHashMatches
	// SignedHashMismatch: embedded signature whose hash does not match.
	SignedHashMismatch
	// SignedUnchecked: an embedded signature whose hash could not be
	// checked (unreadable, unknown digest); Signature.Note says why.
	SignedUnchecked
)

// UnmarshalText reads a confidence as MarshalText writes it.
func (c *Confidence) UnmarshalText(b []byte) error {
	for i, n := range confidenceNames {
		if n == string(b) {
			*c = Confidence(i)
			return nil
		}
	}
	return fmt.Errorf("unknown confidence %q", b)
}

// UnmarshalText reads a source as MarshalText writes it.
func (s *CandidateSource) UnmarshalText(b []byte) error {
	for _, v := range []CandidateSource{FromFolder, FromDumpImage, FromPooltag} {
		if v.String() == string(b) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown candidate source %q", b)
}

// String is the signature in the one sentence every output uses.
func (s Signature) String() string {
	var out string
	switch s.State {
	case SignatureNotApplicable:
		return "n/a (pooltag.txt entry)"
	case SignatureNotInMemory:
		return "not in memory (signatures are not mapped; index the file with --drivers)"
	case Unsigned:
		return "no embedded signature (may be catalog-signed)"
	case SignedHashMatches:
		out = s.signedBy() + ", hash matches"
	case SignedHashMismatch:
		out = s.signedBy() + ", HASH DOES NOT MATCH"
	default:
		out = s.signedBy() + ", hash not checked"
		if s.Note != "" {
			out += ": " + s.Note
		}
	}
	if len(s.Nested) > 0 {
		out += "; also signed by " + strings.Join(s.Nested, ", ")
	}
	return out
}

// signedBy is "signed by X (issuer Y, SHA-256)".
func (s Signature) signedBy() string {
	if s.Signer == "" {
		return "embedded signature, signer unreadable"
	}
	in := "issuer " + s.Issuer
	if s.Digest != "" {
		in += ", " + s.Digest
	}
	return fmt.Sprintf("signed by %s (%s)", s.Signer, in)
}
