package analysis

import (
	"time"

	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// Result is everything the analysis found in one source.
type Result struct {
	Machine Machine

	// Pool is nil when the source cannot support a pool analysis;
	// PoolErr then says why (errors.Is works on it).
	Pool    *Pool
	PoolErr error

	// NonPaged and Paged are each pool's leading tags, most bytes first,
	// Options.Leading of them. Display filters choose among these; the
	// verdict has already been decided on them, unfiltered.
	NonPaged []TagUsage
	Paged    []TagUsage

	Sources Sources
	// Scan is the pass over the pool itself (Options.ScanPool); nil when
	// it was not asked for.
	Scan *Scan
	// Session is the session pool of each Terminal Server session
	// (!poolused 8), as package pool read it; nil for a source without
	// one (a pool snapshot). Session.Read false says why nothing was read.
	Session *pool.SessionPools
	Checks  []Check
	Verdict Verdict

	Warnings []string

	// excl is the ranking without the damaged tags, when every failed
	// sum check could be pinned to them (see exclusion).
	excl *Exclusion
}

// Leading returns the leading tags of one pool.
func (r *Result) Leading(p PoolType) []TagUsage {
	if p == Paged {
		return r.Paged
	}
	return r.NonPaged
}

// Machine is the machine and the crash, as the dump header and KDBG say.
type Machine struct {
	File           string
	Size           int64
	Release        string
	Build          uint32
	Arch           string
	CPUs           int
	DumpType       string
	Triage         bool // a triage dump (minidump): no pool memory
	BugCheck       uint32
	BugCheckName   string
	Capture        string // the memory-capture tool that wrote the dump ("DumpIt"); "" for a crash
	BugCheckParams []uint64
	SystemTime     time.Time
	Uptime         time.Duration
	PhysicalBytes  uint64 // memory described by the dump
	Modules        int
	BootID         uint32 // from the header, when the build records one
	KernBase       uint64 // from KDBG; 0 when unknown
	// Snapshot names the kind of pool snapshot the facts come from
	// ("poolmon", "!poolused", "live"); "" for a dump.
	Snapshot string
	// GrowthSpan is the time between an earlier snapshot of the machine
	// and this one when growth was measured between the two (poolblame
	// live); 0: growth is the average over Uptime.
	GrowthSpan time.Duration
}

// Pool is the pressure on each pool and how the numbers were obtained.
type Pool struct {
	NonPaged Pressure
	Paged    Pressure

	// HTTPSys is set where HTTP.SYS's free nonpaged pool floor applies
	// (Server 2003, Vista/2008), the nonpaged maximum is known and the
	// sums passed the checks the claim rests on.
	HTTPSys *HTTPSys
	// HTTPSysApplies means: the floor is documented for this build; when it is
	// set and HTTPSys is nil, the floor could not be judged.
	HTTPSysApplies bool

	// Checks are the invariants of the pool data (pool.Check), each
	// passed, failed or unknown; Result.Checks carries them as verdict
	// checks.
	Checks []pool.Check

	Tags        int // tags with any counter
	OneCPUOnly  bool
	PerCPU      int   // per-CPU tracker tables summed
	MissingCPUs []int // CPUs whose tables the dump does not hold
	Partial     bool
	Missing     []string
	Notes       []string
	Layout      string // the tracker table layout's name
}

// Pressure returns one pool's pressure.
func (p *Pool) Pressure(t PoolType) Pressure {
	if t == Paged {
		return p.Paged
	}
	return p.NonPaged
}

// Pressure is one pool's use against its maximum.
type Pressure struct {
	Used      uint64  // bytes tracked by tag
	Max       uint64  // 0: unknown
	MaxSource string  // where Max came from or why it is unknown
	Percent   float64 // -1: unknown
	// GrowthPerDay is Used / uptime: the average growth since boot,
	// assuming the pool started near empty; 0 without an uptime. With
	// Machine.GrowthSpan set it is measured over that span instead, and
	// may be negative.
	GrowthPerDay float64
	// DaysToExhaustion at that rate from the dump's moment; 0 when
	// exhausted, -1 when it cannot be said (no maximum, no uptime).
	DaysToExhaustion float64
	Documented       string // the documented limit for the release

	// NoFixedMax means: the build has no fixed maximum for this pool (64-bit
	// Windows 8.1 and later): nonpaged pool is bounded by physical
	// memory, paged pool by commit. Pressure is against PhysicalBytes.
	NoFixedMax    bool
	PhysicalBytes uint64  // physical memory the dump describes; 0: unknown
	OfPhysical    float64 // Used as a percent of PhysicalBytes; -1: unknown
	// LowerBound means: part of the tracker data is missing; Used is at least
	// what it says.
	LowerBound bool
}

// Shown is the pressure the verdict weighs: percent of the maximum, or
// of physical memory on a build with no fixed maximum; -1 when neither
// is known.
func (p Pressure) Shown() float64 {
	if p.Max == 0 && p.NoFixedMax {
		return p.OfPhysical
	}
	return p.Percent
}

// Short says whether the pool was at least half used (of its maximum, or
// of physical memory on a build with none).
func (p Pressure) Short() bool { return p.Shown() >= shortPercent }

// HTTPSys is the HTTP.SYS Connections_Refused check.
type HTTPSys struct {
	FreeNonPaged uint64
	Threshold    uint64
	Below        bool
}

// TagUsage is one leading tag and the drivers that use it.
type TagUsage struct {
	Tag          pooltag.Tag
	Pool         PoolType
	Outstanding  int64
	Allocs       uint64
	Frees        uint64
	Bytes        uint64
	Share        float64 // percent of its pool's tracked bytes
	AvgSize      float64
	GrowthPerDay float64 // bytes per day of uptime (0 without one), or measured over Machine.GrowthSpan

	Description   string // pooltag.txt
	PooltagBinary string // pooltag.txt

	// Candidates are the drivers with evidence for the tag, strongest
	// first (see rankCandidates). A file where the tag only appears as
	// text is not one: common tags ("Even", "File", "Proc") are words
	// any driver may hold.
	Candidates []Candidate
	// TextOnly names the files in which the tag's four bytes appear and
	// nothing more (no call site, no immediate): reported as one count,
	// never as owners.
	TextOnly []string
}

// Owner is the tag's first candidate, or nil when no driver was found.
func (t *TagUsage) Owner() *Candidate {
	if len(t.Candidates) == 0 {
		return nil
	}
	return &t.Candidates[0]
}

// MicrosoftOnly says the drivers found for the tag are all Microsoft's:
// at least one is, none is a third party's. pooltag.txt entries, which
// name no maker, count neither way.
func (t *TagUsage) MicrosoftOnly() bool {
	ms := false
	for i := range t.Candidates {
		switch t.Candidates[i].Owner {
		case OwnerThirdParty:
			return false
		case OwnerMicrosoft:
			ms = true
		}
	}
	return ms
}

// Candidate is a driver with evidence for a tag.
type Candidate struct {
	Name   string
	Path   string // empty for a pooltag.txt entry
	Source CandidateSource
	// Evidence is what the driver's code and bytes hold for the tag;
	// zero for a pooltag.txt entry.
	Evidence pe.Evidence
	Owner    Owner

	Identity  Identity
	Signature Signature

	Loaded     bool   // in the dump's module list
	LoadedNote string // how the file differs from the loaded module
	// LoadedUnknown: the source lists no loaded modules (a pool
	// snapshot), so Loaded false says nothing about the machine.
	LoadedUnknown bool

	// Driver is the scanned image behind the candidate; nil for a
	// pooltag.txt entry.
	Driver *pe.Driver
}

// Kind is the strongest kind of evidence; pe.NoEvidence for a pooltag.txt
// entry.
func (c *Candidate) Kind() pe.EvidenceKind { return c.Evidence.Kind() }

// Count is the number of occurrences of the strongest kind; a
// pooltag.txt entry counts once.
func (c *Candidate) Count() int {
	if c.Source == FromPooltag {
		return 1
	}
	return c.Evidence.Count()
}

// Identity is what a driver's file says about itself.
type Identity struct {
	Company     string
	Description string
	Product     string
	Version     string
	Machine     string
	Built       time.Time // PE TimeDateStamp; zero when unknown
	SHA256      string    // of the file; empty for an image in memory
	// PDB is the debug directory's CodeView record: the program database
	// the linker named, with the GUID and age a symbol server files it
	// under; nil when the image has none. It identifies a build, not its
	// maker: the path is free text.
	PDB *pe.PDB
	// OwnerHint says what, beside the version resource and signature,
	// made the owner what it is ("" when they alone did).
	OwnerHint string
}

// Signature is what is known of a candidate's Authenticode signature.
type Signature struct {
	State  SignatureState
	Signer string   // subject CN of the signing certificate
	Issuer string   // its issuer's CN
	Digest string   // digest algorithm, such as SHA-256
	Nested []string // signers of nested (dual) signatures
	Note   string   // why the hash was not checked, when it was not
}

// Sources is where the evidence came from.
type Sources struct {
	DriverFolders []string
	// NotSearched says why the driver folders given were not searched
	// (no pool data, so no tags to look for); "" when they were.
	NotSearched       string
	FilesIndexed      int
	DumpImagesScanned int
	DumpImagesFailed  int // loaded modules whose image could not be read
	DumpPagesMissing  int // image pages paged out or absent
	Pooltag           string
}

// Check is one test of the evidence behind the verdict.
type Check struct {
	Name   string
	Status CheckStatus
	Detail string // what the check found, or why it did not run
	// Data is, for a check of the pool data, its facts (package report
	// words them); Detail is then empty.
	Data *pool.Check
	// Limit is the highest confidence the verdict may have while this
	// check has not passed. High: the check limits nothing.
	Limit Confidence
	// Raise says what would make the check pass; empty when nothing can.
	Raise string
}

// Limits reports whether the check lowers a confidence of c.
func (k Check) Limits(c Confidence) bool { return k.Status != Passed && k.Limit < c }

// Verdict is the conclusion: what was found, who is blamed, how sure.
type Verdict struct {
	Findings []Finding
	Culprits []Culprit
	// Suspects replace Culprits when the bug check is pool corruption:
	// drivers with evidence for the leading tags, to put under Special
	// Pool or Driver Verifier.
	Suspects   []Culprit
	Confidence Confidence
	// Reasons says why the confidence is what it is: the evidence it
	// started from and each check that lowered it.
	Reasons []string
	// Raise says what would raise the confidence, most useful first.
	Raise []string
	// Excluded is set when the sums contradict themselves in entries
	// that could be pinned to a few tags: those are left out and the
	// rest ranked (see Exclusion).
	Excluded *Exclusion
}

// FindingKind is what one statement of the verdict says.
type FindingKind int

// The kinds, with the Finding's fields they fill, are the verdict's
// decisions; renderers word them, so tests pin what was decided and not
// the sentence.
const (
	// PoolShort means Pool was at least half used.
	PoolShort FindingKind = iota
	// HTTPSysRefuses means free nonpaged pool was below HTTP.SYS's floor.
	HTTPSysRefuses
	// OneCPUTable means only one CPU's tracker table was read on a
	// multiprocessor machine.
	OneCPUTable
	// NeitherPoolShort means no pool was half used; the leading tags are
	// shown, which is not proof of a leak.
	NeitherPoolShort
	// NothingStandsOut means no tag holds suspectShare of its pool.
	NothingStandsOut
	// NoDriverFound means Tag stands out but no driver uses it.
	NoDriverFound
	// MicrosoftNotBlamed means Tag's owner is Microsoft's, not blamed on
	// size alone while the third-party tag Rival also leads.
	MicrosoftNotBlamed
	// Blamed means Candidate is blamed for Tag.
	Blamed
	// NoPoolAnalysis means the source cannot support a pool analysis
	// (Result.PoolErr says why).
	NoPoolAnalysis
	// PoolCorruption means the bug check is pool corruption, not exhaustion:
	// the drivers with evidence for the leading tags are suspects, not
	// culprits (Verdict.Suspects), and Special Pool or Driver Verifier on
	// them is what finds the one that corrupts.
	PoolCorruption
	// DataContradicts means the pool data contradicts itself (Failed names the
	// checks) or leaves CPUs' tables out of the sums, so the ranking of
	// the tags may be the damage itself: no driver is blamed.
	DataContradicts
	// TagsExcluded means the pool data contradicts itself in entries
	// pinned to a few tags (Exclusion): those tags are left out, and the
	// findings after it rank the rest, against the pool's bound.
	TagsExcluded
)

// Finding is one statement of the verdict, in order.
type Finding struct {
	Kind      FindingKind
	Pool      PoolType   // PoolShort
	Tag       *TagUsage  // NoDriverFound, MicrosoftNotBlamed, Blamed
	Candidate *Candidate // MicrosoftNotBlamed, Blamed
	// Rival is, for MicrosoftNotBlamed, the third-party tag; nil when
	// the tags excluded as damaged could hold more (Verdict.Excluded).
	Rival *TagUsage
	// Failed is, for DataContradicts, the failed checks on the sums;
	// Summed and CPUs, when Summed < CPUs, the CPUs' tables in the sums
	// and the machine's CPUs (tables left out of the sums).
	Failed       []pool.Check
	Summed, CPUs int
	// Exclusion is, for TagsExcluded, what was left out and why.
	Exclusion *Exclusion
}

// Culprit is a driver the verdict blames, with the tags it is blamed for.
type Culprit struct {
	Driver string
	Owner  Owner
	Tags   []pooltag.Tag
	Bytes  uint64
}
