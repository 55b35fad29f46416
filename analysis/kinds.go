package analysis

import (
	"fmt"
	"strings"
)

// Confidence is how sure the verdict is of its culprit. The order is
// meaningful: a larger value is more sure.
type Confidence int

// The confidence starts at what the evidence for the culprit allows and
// each check that does not pass caps it at that check's Limit, so the
// levels must stay ordered.
const (
	// NoConfidence means no culprit can be named: nothing stands out, or
	// the source supports no pool analysis.
	NoConfidence Confidence = iota
	// Low means the evidence is weak (matching bytes, a pooltag.txt line)
	// or a check found the data doubtful (one CPU's table read, a pool
	// corruption bug check): the name is a lead, not an answer.
	Low
	// Medium means the culprit is likely but something an engineer would
	// ask about is missing: a call site (the code only holds the tag as
	// an immediate), pool pressure, a loaded owner, a sole owner, a large
	// share of the pool.
	Medium
	// High means call-site evidence that no check capped.
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

// The two pools are counted apart because they run out apart: nonpaged
// pool is bounded by a maximum and RAM, paged pool by commit.
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

// The owner decides blame: a Microsoft driver is not blamed on tag size
// alone while a third-party tag leads beside it.
const (
	// OwnerUnknown means no file was examined (a pooltag.txt entry only),
	// so nothing says who made the driver.
	OwnerUnknown Owner = iota
	// OwnerMicrosoft means the file's company or signer is Microsoft, or,
	// for an image from the dump with no company, Windows loaded it from
	// its own folder under an inbox name.
	OwnerMicrosoft
	// OwnerThirdParty means a file was examined and it is not Microsoft's.
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

// The source says how much a candidate's facts can hold: a file on disk
// has its signature, an image from the dump does not, a pooltag.txt line
// has no code to look at.
const (
	// FromFolder is a driver file in a --drivers folder.
	FromFolder CandidateSource = iota
	// FromDumpImage is the driver's image as loaded, read from the dump.
	FromDumpImage
	// FromPooltag is a pooltag.txt line naming a binary; no file behind it.
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

// A check that did not run is told apart from one that failed: both cap
// the confidence, but only a failure is evidence against the culprit.
const (
	// NotRun means the data the check needs is missing.
	NotRun CheckStatus = iota
	// Passed means the check found what a confident verdict needs.
	Passed
	// Failed means the check found something against the verdict.
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

// The states keep "not known" apart from "unsigned": an image from the
// dump or a pooltag.txt line says nothing about a signature.
const (
	// SignatureNotApplicable means there is no file (a pooltag.txt entry).
	SignatureNotApplicable SignatureState = iota
	// SignatureNotInMemory means an image read from the dump, where
	// signatures are not mapped.
	SignatureNotInMemory
	// Unsigned means no embedded signature (the file may be catalog-signed).
	Unsigned
	// SignedHashMatches means an embedded signature whose hash matches the file.
	SignedHashMatches
	// SignedHashMismatch means an embedded signature whose hash does not match.
	SignedHashMismatch
	// SignedUnchecked means an embedded signature whose hash could not be
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
