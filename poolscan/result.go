package poolscan

import (
	"fmt"

	"github.com/poolblame/poolblame/pooltag"
)

// Kind is how a block was found.
type Kind uint8

// The ways a block is found.
const (
	KindClassic Kind = iota + 1 // a classic pool page, by its header chain
	KindLFH                     // segment heap, low-fragmentation heap block
	KindVS                      // segment heap, variable-size block
	KindBig                     // the big page table
)

var kindNames = [...]string{KindClassic: "page", KindLFH: "lfh", KindVS: "vs", KindBig: "big"}

func (k Kind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// State says where a block's memory stands.
type State uint8

// The states of a block's memory.
const (
	StatePresent    State = iota + 1 // mapped in the system address space, in the dump
	StateTransition                  // mapped by a transition entry; its page is in the dump
	StateUnmapped                    // in the dump, but no system mapping: a stale page, or session space
	StatePagedOut                    // big allocation whose first page is paged out
	StateAbsent                      // big allocation whose first page the dump does not hold
)

var stateNames = [...]string{StatePresent: "present", StateTransition: "transition", StateUnmapped: "unmapped",
	StatePagedOut: "paged out", StateAbsent: "absent"}

func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// InDump reports whether the block's bytes can be read from the dump.
func (s State) InDump() bool { return s == StatePresent || s == StateTransition || s == StateUnmapped }

// Block is one pool allocation found.
type Block struct {
	Addr    uint64 // virtual address of the POOL_HEADER (big: of the allocation); 0 when unmapped
	Phys    uint64 // physical address of the same; 0 when not in the dump
	Tag     pooltag.Tag
	Size    uint64 // bytes, header included (big: NumberOfBytes)
	Kind    Kind
	Paged   bool
	Session bool
	Typed   bool // the pool type is known (big entries before Vista do not record it)
	// Free: classic pool, PoolType 0; segment heap, an LFH block its
	// subsegment's bitmap says is free (VS blocks and LFH blocks of
	// subsegments not read are never marked free: see LFHStats).
	Free  bool
	State State
}

// Pool names the block's pool as poolused does.
func (b Block) Pool() string {
	p := "NonPaged"
	if b.Paged {
		p = "Paged"
	}
	if b.Session {
		p = "Session" + p
	}
	if !b.Typed {
		p = "?"
	}
	return p
}

// Counted reports whether the block stands for an outstanding allocation
// in the system's pool: in use and mapped.
func (b Block) Counted() bool {
	return !b.Free && (b.State == StatePresent || b.State == StateTransition || (b.Kind == KindBig && (b.State == StatePagedOut || b.State == StateAbsent)))
}

// TagCount is what the scan found of one tag.
type TagCount struct {
	Tag pooltag.Tag
	// Small blocks in pages mapped by the system address space, in use.
	NonPaged, Paged, Session int64
	Bytes                    uint64
	// Big allocations from the big page table, whatever their pages' state;
	// BigAbsent of them have a first page that is paged out or absent.
	Big, BigAbsent int64
	BigBytes       uint64
	Free           int64 // classic blocks freed (PoolType 0), LFH blocks free by their bitmap
	Unmapped       int64 // blocks on pages the system address space does not map
	Unconfirmed    int64 // segment-heap headers of the tag that fit no neighbour
	// Unread is how many of NonPaged and Paged are segment-heap blocks
	// whose state no bitmap gave: VS blocks, and LFH blocks of subsegments
	// whose bitmap was not read. They may have been freed.
	Unread int64
}

// InUse is every outstanding allocation found: small blocks in use in
// mapped pages, and big allocations.
func (c *TagCount) InUse() int64 { return c.NonPaged + c.Paged + c.Session + c.Big }

// PageStats says what the scan could read.
type PageStats struct {
	Stored    uint64 // physical pages the dump holds
	Scanned   uint64
	Truncated uint64 // stored pages past the end of a cut file
	PoolPages uint64 // pages recognised as pool (classic chains, or segment-heap blocks of wanted tags)
	Broken    uint64 // classic pages whose chain ran two blocks or more and then broke
	// The system address space, in 4 KiB pages, from its page tables.
	Present, Transition, PagedOut, Absent uint64
	MissingTables                         int // page-table pages the dump lacks
}

// BigTable is what was found of nt!PoolBigPageTable.
type BigTable struct {
	Addr, Var   uint64 // the table, and the variable that points to it
	Size        int    // entries
	Layout      string
	Used, Freed int
	Unreadable  int    // entries on pages the dump cannot give
	Err         string // why it was not found, when it was not
}

// Result is one scan: counts by tag, not blocks, so that its size does
// not grow with the blocks found. Walk lists the blocks; ReadContents
// reads the sample kept of a tag.
type Result struct {
	Mode  string // "classic" or "segment heap"
	Tags  map[pooltag.Tag]*TagCount
	Pages PageStats
	Big   BigTable
	LFH   LFHStats // segment heap: what the LFH subsegment headers gave
	Notes []string

	// What Walk and ReadContents need.
	is64, segment bool
	build         uint32
	match         *Matcher
	hits          pfnSet // physical pages holding a block of a wanted tag
	sample        int
	kept          map[pooltag.Tag]*tagBlocks // every tag found
	last          *tagBlocks                 // the tag of the last block added
	bigLayout     bigLayout
	bigFound      bool
	lfhSubs       []lfhSub // decoded subsegments holding wanted blocks, by VA
}

// Count returns the counts of tag t (zero counts when none was found).
func (r *Result) Count(t pooltag.Tag) TagCount {
	if c, ok := r.Tags[t.Unprotected()]; ok {
		return *c
	}
	return TagCount{Tag: t}
}
