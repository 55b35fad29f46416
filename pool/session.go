package pool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"sort"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// Session pool (WinDbg's !poolused 8): allocations of PagedPoolSession and
// NonPagedPoolSession (pool type bit 0x20) are counted in a tracker table
// of each Terminal Server session, not in nt!PoolTrackTable. That is where
// desktop heap and win32k tags (Gh*, Gla*, Us*) run out.
//
// Where the table is (WRK, Server 2003 SP1, base/ntos/mm/session.c):
// MiSessionPoolTrackTable is MmSessionSpace + MiSessionDataPages pages,
// the pages MM_SESSION_SPACE itself takes; MiSessionPoolTrackTableSize is
// the largest power of two of entries that fit MiSessionTagSizePages (2)
// pages; ex/pool.c ExInitializePoolDescriptor sets the mask to size - 1,
// so the table has no Ovfl sentinel. Decompiled later kernels keep the
// rule: a Windows 7 x64 ExInitializePoolDescriptor sets
// ExpSessionPoolTrackTable to 0xFFFFF90000002000 (MmSessionSpace plus two
// pages) with 2^floor(log2(204)) = 128 entries of 0x28 bytes; 32-bit
// kernels size it as 28-byte entries (a live-dump routine adds
// 28 * ExpSessionPoolTrackTableSize bytes).
//
// How the session space is found without symbols: the processes on
// PsActiveProcessHead (from KDBG) name their session (EPROCESS.Session,
// the MM_SESSION_SPACE's system-space address) and their page directory
// (KPROCESS.DirectoryTableBase). Session space is mapped only in the page
// tables of that session's processes, so the table is read through one of
// them. MmSessionSpace, where the structure appears in session space,
// moves with MmSessionImageSize (a registry value) on x86, so it is not
// computed: the session's tables between MmSessionBase and MmSessionBase +
// MmSessionSize (both in KDBG) are walked for the page that holds the
// structure's first page, and the pages that follow it while they hold
// its next pages give MiSessionDataPages. This depends on no structure
// size and no variable that moves between service packs; the process
// list and the keys at their hash slots check every step.
//
// Vista and Server 2008 (builds 6000 to 6002, x86 and x64) keep the
// layout of Server 2003 and Windows 7 around them: the table is not in
// MM_SESSION_SPACE (ntdiff/headers WinVista x86 and x64
// _MM_SESSION_SPACE.h end at 0x1E80 and 0x1E00 bytes with no PoolTags
// member) and is found as above, two pages after the structure's. Their
// EPROCESS offsets come from ntdiff/headers WinVista _EPROCESS.h, one
// Vista kernel's symbols; that service packs 1 and 2 keep them is not
// shown by a symbol dump here, so a kernel that moved them fails the
// System-first check and says so rather than reading elsewhere.
//
// Windows XP (2600) keeps no per-session tracker at all: its symbols
// (ntoskrnl 5.1.2600.6419) name no ExGetSessionPoolTagInfo and no
// ExpInsertPoolTrackerExpansion, both present in Vista's (6.0.6002);
// the per-session table came with Server 2003 (WRK ex/pool.c,
// ExpSessionPoolTrackTable). Session allocations on XP are counted with
// the system's tags, and its line says so. Server 2003 x64 (3790 x64)
// is not read: no symbol dump of its EPROCESS was found.
//
// Windows 10 1607 to 1909 x64 (builds 14393, 15063, 16299, 17134, 17763,
// 18362 and 18363; Server 2016 and 2019) and 1607 to 1809 x86 name the table in
// their symbols:
// ntdiff/headers Win10_1607_RS1, Win10_1703_RS2, Win10_1709_RS3,
// Win10_1803_RS4, Win10_1809_RS5 and Win10_1903_19H1 x64
// _MM_SESSION_SPACE.h end the structure with UCHAR PoolTags[8192] at
// 0x2000 (1607 to 1709, structure 0x4000 bytes) or at 0x3000 (1803 on,
// 0x5000 bytes), and in the x86 structures at 0x3000 (1607, 0x5000
// bytes) or 0x5000 (1703 to 1809, 0x7000 bytes; ntdiff/headers x86):
// MiSessionTagSizePages' two pages, now a member. Its
// entries are read with the build's system POOL_TRACKER_TABLE layout
// (x64 0x28 bytes up to 1703, 0x38 from 1709 on; x86 0x1C and 0x30) and,
// as in WRK, the largest power of two that fits (128, or 256 for x86's
// 0x1C entries) with mask size - 1; the symbols give
// only the bytes, so the keys at their hash slots are what confirms the
// count and the hash, as on the older builds. The member is read through the
// session's own page tables, which map system and session space alike,
// so it does not matter which of the two EPROCESS.Session points into.
// The per-session expansion table (MM_SESSION_SPACE.PoolTrackTableExpansion
// and PoolTrackTableExpansionSize, Vista and later) is read too: see
// sessionexp.go.
//
// 1903 moved session pool onto the segment heap (MM_SESSION_SPACE gains
// HeapState, and MM_SESSION_SPACE_FLAGS SessionHeapInitialized, in the
// same 1903 symbols) but kept PoolTags: the session heap still counts
// its allocations in the per-session tracker.
//
// Windows 11 drops it. The 23H2 MM_SESSION_SPACE is 0x340 bytes with no
// PoolTags, HeapState, paged pool or expansion table
// (vergiliusproject x64 windows-11 23h2), and 24H2 replaces the
// structure by _PSP_SESSION_SPACE, whose fields the symbols no longer
// carry (docs.rs vmi-os-windows 0.7.0, src/comps/session.rs): those
// builds say so in their one line instead of "not read". 22H2 (22621)
// says the same: 23H2 is an enablement package on it, the same system
// files (Microsoft KB5027397). 21H2 (22000) stays "not read": no symbol
// dump of its MM_SESSION_SPACE was found, and its structure is not
// 22H2's by any source.
//
// Other builds say "not read on this build" instead of guessing: their
// EPROCESS offsets move with every release and their MM_SESSION_SPACE
// was not checked against their symbols here. Windows 8 to 10 1511 have
// no PoolTags member (ntdiff/headers Win8, Win8.1, Win10_1507_TS1 and
// Win10_1511_TS2 x64 _MM_SESSION_SPACE.h, 0x1F80, 0x2000, 0x1F40 and
// 0x1F40 bytes) and no public source (no decompiled
// ExInitializePoolDescriptor or MiSessionCreateInternal of those kernels
// was found) places their table. Their x64 builds (9200, 9600, 10240 and
// 10586) are read where the data proves the placement: EPROCESS and
// SessionId come from ntdiff/headers Win8, Win8.1, Win10_1507_TS1 and
// Win10_1511_TS2 x64, and the placement of Server 2003 to 7
// (MmSessionSpace + MiSessionDataPages pages, found by the walk above)
// is a candidate held to choosePlacement's rule (confirmFollowing): at
// least minPlacementKeys keys at their hash slots over all sessions,
// almost none elsewhere, not the first half of a larger table. The
// line then says the data chose it; otherwise nothing is read and the
// line says what the table held. Their x86 builds stay unread. 1909 (18363) is read as 1903: the same kernel with an
// enablement package.
//
// 2004 to 22H2 x64 (19041-19045, one kernel) have their EPROCESS offsets
// from symbols, but where PoolTags sits is open: the nearest symbol dumps
// (insider builds 19569 and 21292) put UCHAR PoolTags[16384] at 0x1000,
// 1903 had UCHAR PoolTags[8192] at 0x3000, and no dump named for the
// build was found. The row lists both as candidates, each read through
// the session's page tables as a table of the largest power of two of
// entries its bytes hold (256 and 128 of 0x38 bytes); exactly one must
// hold at least minPlacementKeys keys at their hash slots over all
// sessions, almost none elsewhere, and not be the first half of a
// larger table. The line then says the data, not the symbols, chose it;
// when none or both fit, nothing is read and the line says what each
// held.
// x86 1903's EPROCESS size differs between ntdiff/headers (0x408) and
// vergiliusproject (0x480), so it stays unread too.

// sessionLayout is one build family's facts for the session pool.
type sessionLayout struct {
	name                       string
	is64                       bool
	minBuild, maxBuild         uint32
	links, session, image, dtb int // EPROCESS: ActiveProcessLinks, Session, ImageFileName; KPROCESS.DirectoryTableBase
	sessionID                  int // MM_SESSION_SPACE.SessionId
	processList                int // MM_SESSION_SPACE.ProcessList, head of its processes' SessionProcessLinks; checked on the PoolTags builds
	// sessionLinks is EPROCESS.SessionProcessLinks, the entries of
	// ProcessList: the process through which a session is found must be
	// on its list. 0: not sourced for the build, only the list head is
	// checked (every PoolTags row has it).
	sessionLinks int
	tagPages     int // MiSessionTagSizePages
	tableBytes   int // the table's bytes when not tagPages pages: the chosen candidate's
	poolTags     int // MM_SESSION_SPACE.PoolTags; 0: the table follows the structure's pages in session space
	// candidates, when set, are the places the sources leave open for
	// PoolTags: the data must confirm exactly one (choosePlacement), and
	// poolTags and tableBytes are then that one's.
	candidates []tablePlacement
	// follows, when set, says no source places the table: the placement
	// of Server 2003 to 7 (after the structure's pages in session space)
	// is a candidate the data must confirm (confirmFollowing).
	follows     bool
	expansion   int  // MM_SESSION_SPACE.PoolTrackTableExpansion, its pointer-sized size right after; 0: not known
	noExpansion bool // the kernel keeps no session expansion table (Server 2003: overflow goes to Ovfl)
	// absent, when set, says why the build has no session tracker to
	// read; the row has no offsets and is not a read build.
	absent string
	source string
}

// tablePlacement is one place the session tracker may sit in
// MM_SESSION_SPACE: the PoolTags member's offset and size.
type tablePlacement struct {
	offset, bytes int
}

// sessionLayouts: the builds whose session pool is read.
var sessionLayouts = []sessionLayout{
	{name: "x86 Server 2003 SP1/SP2", is64: false, minBuild: 3790, maxBuild: 3790,
		links: 0x98, session: 0x160, image: 0x164, dtb: 0x18, sessionID: 0xC, tagPages: 2, noExpansion: true,
		source: "EPROCESS: dt nt!_EPROCESS of the WRK kernel; MM_SESSION_SPACE: WRK mi.h (GlobalVirtualAddress, ReferenceCount, u, SessionId at 0xC; no PoolTrackTableExpansion, WRK ex/pool.c charges a full session table's last entry)"},
	{name: "x86 Windows Vista / Server 2008", is64: false, minBuild: 6000, maxBuild: 6002,
		links: 0xA0, session: 0x148, image: 0x14C, dtb: 0x18, sessionID: 0x8, tagPages: 2, expansion: 0x1E54,
		source: "ntdiff/headers WinVista/x86 _EPROCESS.h (ActiveProcessLinks 0xA0, Session 0x148, ImageFileName 0x14C, KPROCESS.DirectoryTableBase 0x18) and _MM_SESSION_SPACE.h (SessionId 8, PoolTrackTableExpansion 0x1E54, ULONG size 0x1E58; 0x1E80 bytes)"},
	{name: "x64 Windows Vista / Server 2008", is64: true, minBuild: 6000, maxBuild: 6002,
		links: 0xE8, session: 0x230, image: 0x238, dtb: 0x28, sessionID: 0x8, tagPages: 2, expansion: 0x1DB8,
		source: "ntdiff/headers WinVista/x64 _EPROCESS.h (ActiveProcessLinks 0xE8, Session 0x230, ImageFileName 0x238) and _MM_SESSION_SPACE.h (SessionId 8, PoolTrackTableExpansion 0x1DB8, size 0x1DC0; 0x1E00 bytes)"},
	{name: "x86 Windows 7", is64: false, minBuild: 7600, maxBuild: 7601,
		links: 0xB8, session: 0x168, image: 0x16C, dtb: 0x18, sessionID: 0x8, tagPages: 2, expansion: 0x1FC8,
		source: "ntdiff/headers Win7/x86 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTrackTableExpansion 0x1FC8, ULONG size 0x1FCC)"},
	{name: "x64 Windows 7 / Server 2008 R2", is64: true, minBuild: 7600, maxBuild: 7601,
		links: 0x188, session: 0x2D8, image: 0x2E0, dtb: 0x28, sessionID: 0x8, tagPages: 2, expansion: 0x1F30,
		source: "ntdiff/headers Win7/x64 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTrackTableExpansion 0x1F30, size 0x1F38)"},
	// Windows 8 / Server 2012 (9200), 8.1 / Server 2012 R2 (9600), 10
	// 1507 (10240) and 1511 (10586) have no PoolTags member and no public
	// source places their table: the Server 2003 to 7 placement, after
	// the structure's own pages in session space, is a candidate the keys
	// at their hash slots must confirm (follows).
	{name: "x64 Windows 8 / Server 2012", is64: true, minBuild: 9200, maxBuild: 9200,
		links: 0x2E8, session: 0x3F0, image: 0x438, dtb: 0x28, sessionID: 0x8, tagPages: 2, expansion: 0x1F40, follows: true,
		source: "EPROCESS: ntdiff/headers Win8/x64 _EPROCESS.h (ActiveProcessLinks 0x2E8, Session 0x3F0, ImageFileName 0x438; KPROCESS.DirectoryTableBase 0x28 as the other x64 rows); MM_SESSION_SPACE: ntdiff/headers Win8/x64 _MM_SESSION_SPACE.h (SessionId 8, PoolTrackTableExpansion 0x1F40, size 0x1F48; 0x1F80 bytes, no PoolTags); the table after the structure's pages, as on Server 2003 to 7, chosen by the data"},
	{name: "x64 Windows 8.1 / Server 2012 R2", is64: true, minBuild: 9600, maxBuild: 9600,
		links: 0x2E8, session: 0x3F0, image: 0x438, dtb: 0x28, sessionID: 0x8, tagPages: 2, expansion: 0x1F98, follows: true,
		source: "EPROCESS: ntdiff/headers Win8.1/x64 _EPROCESS.h (ActiveProcessLinks 0x2E8, Session 0x3F0, ImageFileName 0x438; KPROCESS.DirectoryTableBase 0x28 as the other x64 rows); MM_SESSION_SPACE: ntdiff/headers Win8.1/x64 _MM_SESSION_SPACE.h (SessionId 8, PoolTrackTableExpansion 0x1F98, size 0x1FA0; 0x2000 bytes, no PoolTags); the table after the structure's pages, as on Server 2003 to 7, chosen by the data"},
	{name: "x64 Windows 10 1507", is64: true, minBuild: 10240, maxBuild: 10240,
		links: 0x2F0, session: 0x400, image: 0x448, dtb: 0x28, sessionID: 0x8, tagPages: 2, expansion: 0x1EF0, follows: true,
		source: "EPROCESS: ntdiff/headers Win10_1507_TS1/x64 _EPROCESS.h (ActiveProcessLinks 0x2F0, Session 0x400, ImageFileName 0x448; KPROCESS.DirectoryTableBase 0x28 as the other x64 rows); MM_SESSION_SPACE: ntdiff/headers Win10_1507_TS1/x64 _MM_SESSION_SPACE.h (SessionId 8, PoolTrackTableExpansion 0x1EF0, size 0x1EF8; 0x1F40 bytes, no PoolTags); the table after the structure's pages, as on Server 2003 to 7, chosen by the data"},
	{name: "x64 Windows 10 1511", is64: true, minBuild: 10586, maxBuild: 10586,
		links: 0x2F0, session: 0x400, image: 0x450, dtb: 0x28, sessionID: 0x8, tagPages: 2, expansion: 0x1EF0, follows: true,
		source: "EPROCESS: ntdiff/headers Win10_1511_TS2/x64 _EPROCESS.h (ActiveProcessLinks 0x2F0, Session 0x400, ImageFileName 0x450 after ImageFilePointer; KPROCESS.DirectoryTableBase 0x28 as the other x64 rows); MM_SESSION_SPACE: ntdiff/headers Win10_1511_TS2/x64 _MM_SESSION_SPACE.h (SessionId 8, PoolTrackTableExpansion 0x1EF0, size 0x1EF8; 0x1F40 bytes, no PoolTags); the table after the structure's pages, as on Server 2003 to 7, chosen by the data"},
	// EPROCESS.SessionProcessLinks, the entries of ProcessList: 0x340 in
	// ntdiff/headers Win10_1607_RS1, Win10_1703_RS2, Win10_1709_RS3,
	// Win10_1803_RS4, Win10_1809_RS5 and Win10_1903_19H1 x64
	// _EPROCESS.h (1909 is 1903's kernel), 0x4A0 in Win10_20H2_19569 x64
	// (vergiliusproject x64 windows-10 2004: the same); on x86 0xE8 in
	// Win10_1607_RS1 and 0xF0 in Win10_1703_RS2 to Win10_1809_RS5
	// _EPROCESS.h.
	{name: "x64 Windows 10 1607 / Server 2016", is64: true, minBuild: 14393, maxBuild: 14393,
		links: 0x2F0, session: 0x400, image: 0x450, dtb: 0x28, sessionID: 0x8, tagPages: 2, poolTags: 0x2000, processList: 0x10, sessionLinks: 0x340, expansion: 0x1F78,
		source: "ntdiff/headers Win10_1607_RS1/x64 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x2000, PoolTrackTableExpansion 0x1F78)"},
	{name: "x64 Windows 10 1703", is64: true, minBuild: 15063, maxBuild: 15063,
		links: 0x2E8, session: 0x400, image: 0x450, dtb: 0x28, sessionID: 0x8, tagPages: 2, poolTags: 0x2000, processList: 0x10, sessionLinks: 0x340, expansion: 0x1FB0,
		source: "ntdiff/headers Win10_1703_RS2/x64 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x2000, PoolTrackTableExpansion 0x1FB0)"},
	{name: "x64 Windows 10 1709", is64: true, minBuild: 16299, maxBuild: 16299,
		links: 0x2E8, session: 0x400, image: 0x450, dtb: 0x28, sessionID: 0x8, tagPages: 2, poolTags: 0x2000, processList: 0x10, sessionLinks: 0x340, expansion: 0x1FB0,
		source: "ntdiff/headers Win10_1709_RS3/x64 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x2000, PoolTrackTableExpansion 0x1FB0)"},
	{name: "x64 Windows 10 1803", is64: true, minBuild: 17134, maxBuild: 17134,
		links: 0x2E8, session: 0x400, image: 0x450, dtb: 0x28, sessionID: 0x8, tagPages: 2, poolTags: 0x3000, processList: 0x10, sessionLinks: 0x340, expansion: 0x2028,
		source: "ntdiff/headers Win10_1803_RS4/x64 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x3000, PoolTrackTableExpansion 0x2028)"},
	{name: "x64 Windows 10 1809 / Server 2019", is64: true, minBuild: 17763, maxBuild: 17763,
		links: 0x2E8, session: 0x400, image: 0x450, dtb: 0x28, sessionID: 0x8, tagPages: 2, poolTags: 0x3000, processList: 0x10, sessionLinks: 0x340, expansion: 0x2028,
		source: "ntdiff/headers Win10_1809_RS5/x64 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x3000, PoolTrackTableExpansion 0x2028)"},
	{name: "x64 Windows 10 1903", is64: true, minBuild: 18362, maxBuild: 18362,
		links: 0x2E8, session: 0x400, image: 0x450, dtb: 0x28, sessionID: 0x8, tagPages: 2, poolTags: 0x3000, processList: 0x10, sessionLinks: 0x340, expansion: 0x2028,
		source: "ntdiff/headers Win10_1903_19H1/x64 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x3000, beside the session heap's HeapState, PoolTrackTableExpansion 0x2028)"},
	// 1909 is 1903's kernel: the same servicing content with an
	// enablement package that turns on its features and changes the
	// build number from 18362 to 18363 (Windows Insider blog on 19H2, as
	// quoted by Computerworld, November 2019; windowscentral.com, "How is
	// the Windows 10 November 2019 Update so small?").
	{name: "x64 Windows 10 1909", is64: true, minBuild: 18363, maxBuild: 18363,
		links: 0x2E8, session: 0x400, image: 0x450, dtb: 0x28, sessionID: 0x8, tagPages: 2, poolTags: 0x3000, processList: 0x10, sessionLinks: 0x340, expansion: 0x2028,
		source: "1903's row: 1909 (18363) is 1903 (18362) with an enablement package, one servicing branch and kernel (Windows Insider blog on 19H2)"},
	// 2004 to 22H2 (19041 to 19045) are one servicing branch, each
	// later release an enablement package on 2004's kernel. Their
	// EPROCESS (ActiveProcessLinks 0x448, Session 0x558, ImageFileName
	// 0x5A8; KPROCESS.DirectoryTableBase 0x28) is the same in ntdiff/headers
	// Win10_20H2_19569/x64 _EPROCESS.h and in the published
	// vergiliusproject x64 windows-10 2004 to 22h2 _EPROCESS; SessionId is
	// at 8 (ntdiff/headers Win10_20H2_19569/x64 _MM_SESSION_SPACE.h).
	// Where PoolTags sits is left open: that insider symbol dump (and
	// 21292's) has UCHAR PoolTags[16384] at 0x1000 in a 0x5000-byte
	// structure, 1903 has PoolTags[8192] at 0x3000 in the same size, and
	// no symbol dump named for 19041-19045 was found. Both are
	// candidates; the keys at their hash slots choose.
	{name: "x64 Windows 10 2004-22H2", is64: true, minBuild: 19041, maxBuild: 19045,
		links: 0x448, session: 0x558, image: 0x5A8, dtb: 0x28, sessionID: 0x8, processList: 0x10, sessionLinks: 0x4A0,
		candidates: []tablePlacement{{0x1000, 0x4000}, {0x3000, 0x2000}},
		source:     "EPROCESS: ntdiff/headers Win10_20H2_19569/x64 _EPROCESS.h, as vergiliusproject x64 windows-10 2004-22h2 _EPROCESS; MM_SESSION_SPACE.PoolTags: at 0x1000 (16384 bytes, ntdiff/headers Win10_20H2_19569 and 21292 x64) or 0x3000 (8192 bytes, as 1903), chosen by the data"},

	{name: "x86 Windows 10 1607", is64: false, minBuild: 14393, maxBuild: 14393,
		links: 0xB8, session: 0x148, image: 0x174, dtb: 0x18, sessionID: 0x8, tagPages: 2, poolTags: 0x3000, processList: 0x10, sessionLinks: 0xE8, expansion: 0x1FDC,
		source: "ntdiff/headers Win10_1607_RS1/x86 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x3000, PoolTrackTableExpansion 0x1FDC, ULONG size after it)"},
	{name: "x86 Windows 10 1703", is64: false, minBuild: 15063, maxBuild: 15063,
		links: 0xB8, session: 0x150, image: 0x17C, dtb: 0x18, sessionID: 0x8, tagPages: 2, poolTags: 0x5000, processList: 0x10, sessionLinks: 0xF0, expansion: 0x4054,
		source: "ntdiff/headers Win10_1703_RS2/x86 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x5000, PoolTrackTableExpansion 0x4054, ULONG size after it); ActiveProcessLinks from vergiliusproject x86 windows-10 1703 _EPROCESS"},
	{name: "x86 Windows 10 1709", is64: false, minBuild: 16299, maxBuild: 16299,
		links: 0xB8, session: 0x150, image: 0x17C, dtb: 0x18, sessionID: 0x8, tagPages: 2, poolTags: 0x5000, processList: 0x10, sessionLinks: 0xF0, expansion: 0x4054,
		source: "ntdiff/headers Win10_1709_RS3/x86 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x5000, PoolTrackTableExpansion 0x4054, ULONG size after it)"},
	{name: "x86 Windows 10 1803", is64: false, minBuild: 17134, maxBuild: 17134,
		links: 0xB8, session: 0x150, image: 0x17C, dtb: 0x18, sessionID: 0x8, tagPages: 2, poolTags: 0x5000, processList: 0x10, sessionLinks: 0xF0, expansion: 0x4250,
		source: "ntdiff/headers Win10_1803_RS4/x86 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x5000, PoolTrackTableExpansion 0x4250, ULONG size after it); ActiveProcessLinks from vergiliusproject x86 windows-10 1803 _EPROCESS"},
	{name: "x86 Windows 10 1809", is64: false, minBuild: 17763, maxBuild: 17763,
		links: 0xB8, session: 0x150, image: 0x17C, dtb: 0x18, sessionID: 0x8, tagPages: 2, poolTags: 0x5000, processList: 0x10, sessionLinks: 0xF0, expansion: 0x4250,
		source: "ntdiff/headers Win10_1809_RS5/x86 _EPROCESS.h and _MM_SESSION_SPACE.h (PoolTags[8192] at 0x5000, PoolTrackTableExpansion 0x4250, ULONG size after it)"},
	// Builds whose session structure has no session pool to read: the
	// reason is the whole answer.
	{name: "x86 Windows XP", is64: false, minBuild: 2600, maxBuild: 2600,
		absent: "its kernel keeps no per-session pool tracker (the XP SP3 symbols name no ExGetSessionPoolTagInfo or ExpInsertPoolTrackerExpansion, which Vista's have; the per-session table, ExpSessionPoolTrackTable, is Server 2003's, WRK ex/pool.c), so its session pool tags are counted in the system tracker table that poolused reads without --session",
		source: "AndreyBazhan/SymStore ntoskrnl.exe-5.1.2600.6419-x86.h and ntkrnlpa.exe-6.0.6002.18005-x86.h function lists; WRK ex/pool.c"},
	// 22H2 (22621) and 23H2 (22631) "share a common core operating
	// system with an identical set of system files", 23H2 an enablement
	// package on 22H2 (Microsoft support, KB5027397): one kernel, one
	// MM_SESSION_SPACE.
	{name: "x64 Windows 11 22H2 / 23H2", is64: true, minBuild: 22621, maxBuild: 22631,
		absent: "its MM_SESSION_SPACE has no session pool: 0x340 bytes with no PoolTags, HeapState, PagedPool or PoolTrackTableExpansion member (vergiliusproject x64 windows-11 23h2 _MM_SESSION_SPACE; 22H2 is the same kernel, KB5027397), so there is no per-session tracker to read",
		source: "vergiliusproject x64 windows-11 23h2 _MM_SESSION_SPACE; Microsoft KB5027397 (22H2 and 23H2 share one core and its system files)"},
	{name: "x64 Windows 11 24H2", is64: true, minBuild: 26100, maxBuild: 26100,
		absent: "MM_SESSION_SPACE was replaced by _PSP_SESSION_SPACE, whose fields the kernel's symbols no longer carry (vmi-os-windows, src/comps/session.rs), so no per-session tracker is known to read",
		source: "docs.rs vmi-os-windows 0.7.0 src/comps/session.rs"},
}

func sessionLayoutFor(arch dumpfile.Arch, build uint32) (sessionLayout, bool) {
	if arch == dumpfile.ArchARM32 || arch == dumpfile.ArchARM64 {
		return sessionLayout{}, false
	}
	for _, l := range sessionLayouts {
		if l.is64 == arch.Is64() && build >= l.minBuild && build <= l.maxBuild {
			return l, true
		}
	}
	return sessionLayout{}, false
}

// SessionPoolBuilds names the builds whose session pool is read.
func SessionPoolBuilds() []string {
	var out []string
	for _, l := range sessionLayouts {
		if l.absent != "" {
			continue
		}
		if l.minBuild == l.maxBuild {
			out = append(out, fmt.Sprintf("%s (build %d)", l.name, l.minBuild))
		} else {
			out = append(out, fmt.Sprintf("%s (builds %d-%d)", l.name, l.minBuild, l.maxBuild))
		}
	}
	return out
}

// SessionPools is the session pool of every session the dump shows, or
// why it was not read.
type SessionPools struct {
	// Read is false when nothing could be read; Reason says why in one
	// line beginning "session pool:".
	Read   bool
	Reason string
	Layout string
	// Placement, when the build's sources leave the tracker's place in
	// MM_SESSION_SPACE open, says in one line which candidate the data
	// confirmed (the symbols did not choose it) and what the others held.
	Placement string
	Sessions  []SessionPool // by session ID
}

// SessionPool is one session's tracker table.
type SessionPool struct {
	ID        uint32
	Struct    uint64 // MM_SESSION_SPACE in system space (EPROCESS.Session)
	Space     uint64 // MmSessionSpace: the same structure in session space; 0 when not found, or not sought (the PoolTags builds)
	Table     uint64 // the tracker table in session space; 0 when not found
	TableSize int    // entries, a power of two
	Hash      string
	Processes []string // image names, list order
	// Usages are the session's tags, sorted: the table's and the
	// expansion table's. Empty when the table was not read: Missing says
	// why.
	Usages  []Usage
	Missing []string
	// Full is set when every slot but the last held a key: the kernel
	// never gives the last slot to a tag (it is the overflow bucket,
	// keyed Ovfl when used), so tags that came later went to the
	// expansion table, or to Ovfl when there was none.
	Full bool
	// Expansion is MM_SESSION_SPACE.PoolTrackTableExpansion and
	// ExpansionSize its PoolTrackTableExpansionSize (entries): the
	// per-session table Vista and later kernels put tags in once the
	// fixed table is full. 0 when the session has none or the build
	// keeps none (Server 2003).
	Expansion     uint64
	ExpansionSize uint64
	// ExpansionTags are the tags read from the expansion table, sorted;
	// their counts are in Usages.
	ExpansionTags []pooltag.Tag
	// OverflowInOvfl is set when the table is full and the session has
	// no expansion table (the build keeps none, or its pointer is NULL):
	// tags that did not fit were counted under Ovfl, the last entry,
	// not under their own tags.
	OverflowInOvfl bool
}

// Total sums the session's tags.
func (s *SessionPool) Total() Usage {
	var t Usage
	for _, u := range s.Usages {
		t.Add(u)
	}
	return t
}

// maxProcesses bounds the process list walk: a corrupt list must end.
const maxProcesses = 1 << 16

// sessionProc is what the walk keeps of one process.
type sessionProc struct {
	name     string
	eprocess uint64
	session  uint64
	dtb      uint64
}

// ReadSessions reads the session pool tracker of every session on the
// process list. It does not fail: a dump or build it cannot read gives
// Read false and a one-line Reason, a session it cannot finish keeps what
// is missing in its Missing.
func ReadSessions(f *dumpfile.File) *SessionPools {
	no := func(format string, a ...any) *SessionPools {
		return &SessionPools{Reason: "session pool: " + fmt.Sprintf(format, a...)}
	}
	build, arch := f.MinorVersion, f.Arch()
	sl, ok := sessionLayoutFor(arch, build)
	if !ok {
		return no("not read on this build (%v, build %d): its session tracker layout is known only for %s", arch, build, joinAnd(SessionPoolBuilds()))
	}
	if sl.absent != "" {
		return no("not read on this build (%v, build %d, %s): %s", arch, build, sl.name, sl.absent)
	}
	if err := f.ReadableError(); err != nil {
		return no("not read: %v", err)
	}
	lay, err := LayoutForArch(arch, build)
	if err != nil {
		return no("not read: %v", err)
	}
	k, err := f.KDBG()
	if err != nil {
		return no("not read: %v", err)
	}
	procs, err := walkProcesses(f, k, sl)
	if err != nil {
		return no("not read: %v", err)
	}
	out := &SessionPools{Layout: sl.name}
	bySession := map[uint64]*SessionPool{}
	var order []uint64
	foundBy := map[uint64]sessionProc{} // the process through which each session was found
	for _, p := range procs {
		if p.session == 0 {
			continue
		}
		s, ok := bySession[p.session]
		if !ok {
			s = &SessionPool{Struct: p.session}
			bySession[p.session] = s
			order = append(order, p.session)
			foundBy[p.session] = p
		}
		s.Processes = append(s.Processes, p.name)
	}
	if len(order) == 0 {
		return no("no process on the active process list belongs to a session (%d processes read)", len(procs))
	}
	if len(sl.candidates) > 0 {
		dtbs := make([]uint64, len(order))
		for i, sp := range order {
			dtbs[i] = foundBy[sp].dtb
		}
		p, why, err := choosePlacement(f, order, dtbs, sl, lay)
		if err != nil {
			return no("not read on this build (%v, build %d, %s): %v", arch, build, sl.name, err)
		}
		sl.poolTags, sl.tableBytes = p.offset, p.bytes
		out.Placement = why
	}
	base, size, berr := sessionBounds(f, k)
	bounds := sessionRange{base, size, berr}
	for _, sp := range order {
		s := bySession[sp]
		if sl.poolTags > 0 {
			readSessionMember(f, s, foundBy[sp], sl, lay, bounds)
			out.Sessions = append(out.Sessions, *s)
			continue
		}
		if id, err := f.ReadU32(sp + uint64(sl.sessionID)); err == nil {
			s.ID = id
		} else {
			s.Missing = append(s.Missing, fmt.Sprintf("MM_SESSION_SPACE at %#x unreadable: %v", sp, err))
		}
		if berr != nil {
			s.Missing = append(s.Missing, berr.Error())
		} else {
			readSessionTable(f, s, foundBy[sp].dtb, bounds, sl, lay)
		}
		out.Sessions = append(out.Sessions, *s)
	}
	if sl.follows {
		why, err := confirmFollowing(f, out.Sessions, foundBy, lay)
		if err != nil {
			return no("not read on this build (%v, build %d, %s): %v", arch, build, sl.name, err)
		}
		out.Placement = why
	}
	sort.SliceStable(out.Sessions, func(i, j int) bool { return out.Sessions[i].ID < out.Sessions[j].ID })
	out.Read = true
	return out
}

// walkProcesses follows PsActiveProcessHead with the layout's offsets.
// The first process must be System, outside any session: otherwise the
// offsets are not this kernel's and nothing is read.
func walkProcesses(f *dumpfile.File, k *dumpfile.KDBG, sl sessionLayout) ([]sessionProc, error) {
	head := k.PsActiveProcessHead()
	if head == 0 {
		head = f.PsActiveProcessHead
	}
	if head == 0 {
		return nil, errors.New("no PsActiveProcessHead in KDBG or the header")
	}
	ps := uint64(f.Arch().PointerSize())
	seen := map[uint64]bool{head: true}
	var out []sessionProc
	cur, err := f.ReadPointer(head)
	if err != nil {
		return nil, fmt.Errorf("PsActiveProcessHead at %#x unreadable: %w", head, err)
	}
	for cur != head {
		if seen[cur] || len(out) >= maxProcesses {
			return out, fmt.Errorf("the active process list loops or runs past %d entries at %#x", maxProcesses, cur)
		}
		seen[cur] = true
		ep := cur - uint64(sl.links)
		p := sessionProc{eprocess: ep}
		var name [16]byte
		if _, err := f.ReadVirtual(ep+uint64(sl.image), name[:15]); err != nil {
			return out, fmt.Errorf("EPROCESS at %#x unreadable: %w", ep, err)
		}
		if i := bytes.IndexByte(name[:], 0); i >= 0 {
			p.name = string(name[:i])
		}
		if p.session, err = f.ReadPointer(ep + uint64(sl.session)); err != nil {
			return out, fmt.Errorf("EPROCESS at %#x: Session unreadable: %w", ep, err)
		}
		if ps == 4 {
			v, err := f.ReadU32(ep + uint64(sl.dtb))
			if err != nil {
				return out, fmt.Errorf("EPROCESS at %#x: DirectoryTableBase unreadable: %w", ep, err)
			}
			p.dtb = uint64(v)
		} else if p.dtb, err = f.ReadU64(ep + uint64(sl.dtb)); err != nil {
			return out, fmt.Errorf("EPROCESS at %#x: DirectoryTableBase unreadable: %w", ep, err)
		}
		if len(out) == 0 && (p.name != "System" || p.session != 0) {
			return nil, fmt.Errorf("the first process does not read as System with these %s offsets (name %q, Session %#x)", sl.name, p.name, p.session)
		}
		out = append(out, p)
		if cur, err = f.ReadPointer(cur); err != nil {
			return out, fmt.Errorf("process list link at %#x unreadable: %w", ep+uint64(sl.links), err)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the active process list is empty")
	}
	return out, nil
}

// sessionBounds reads MmSessionBase and MmSessionSize through KDBG.
func sessionBounds(f *dumpfile.File, k *dumpfile.KDBG) (base, size uint64, err error) {
	bv, _ := k.Field(dumpfile.KdMmSessionBase)
	sv, _ := k.Field(dumpfile.KdMmSessionSize)
	if bv == 0 || sv == 0 {
		return 0, 0, errors.New("KDBG has no MmSessionBase or MmSessionSize: session space cannot be bounded")
	}
	if base, err = f.ReadPointer(bv); err != nil {
		return 0, 0, fmt.Errorf("nt!MmSessionBase at %#x unreadable: %w", bv, err)
	}
	if size, err = f.ReadPointer(sv); err != nil {
		return 0, 0, fmt.Errorf("nt!MmSessionSize at %#x unreadable: %w", sv, err)
	}
	if size == 0 || base+size < base {
		return 0, 0, fmt.Errorf("session space %#x+%#x is not a range", base, size)
	}
	return base, size, nil
}

// maxSessionLeaves bounds the walk of one session's page tables: damaged
// tables that point many entries at the same table could otherwise make
// it visit the same pages millions of times.
const maxSessionLeaves = 1 << 20

// maxDataPages bounds MiSessionDataPages (WRK: at most
// MM_ALLOCATION_GRANULARITY / PAGE_SIZE, 16).
const maxDataPages = 16

// readSessionTable finds s's structure in session space through the
// session's page tables and reads the tracker table after it.
func readSessionTable(f *dumpfile.File, s *SessionPool, dtb uint64, r sessionRange, sl sessionLayout, lay *Layout) {
	base, size := r.base, r.size
	miss := func(format string, a ...any) { s.Missing = append(s.Missing, fmt.Sprintf(format, a...)) }
	sp, err := f.Space(dtb)
	if err != nil {
		miss("the session's page directory (DirectoryTableBase %#x) is not in the dump: %v", dtb, err)
		return
	}
	first, err := f.Translate(s.Struct)
	if err != nil {
		miss("MM_SESSION_SPACE at %#x does not translate: %v", s.Struct, err)
		return
	}
	var at uint64
	leaves := 0
	missingTables, err := sp.Mappings(base, base+size-1, func(m dumpfile.Mapping) bool {
		if leaves++; leaves > maxSessionLeaves {
			return false
		}
		if m.VA < base || m.VA > base+size-1 || m.State == dumpfile.MapPagedOut {
			return true
		}
		if m.PA == first&^(dumpfile.PageSize-1) {
			at = m.VA
			return false
		}
		return true
	})
	if err != nil {
		miss("session space walk failed: %v", err)
		return
	}
	if at == 0 && leaves > maxSessionLeaves {
		miss("the session's page tables map more than %d pages of session space without MM_SESSION_SPACE: they are not read further", maxSessionLeaves)
		return
	}
	if at == 0 {
		miss("no page of session space %#x-%#x maps MM_SESSION_SPACE (%d page tables absent from the dump)", base, base+size-1, missingTables)
		return
	}
	s.Space = at
	data := uint64(1)
	for ; data < maxDataPages; data++ {
		g, gerr := f.Translate(s.Struct + data*dumpfile.PageSize)
		l, lerr := sp.Translate(at + data*dumpfile.PageSize)
		if gerr != nil || lerr != nil || g != l {
			break
		}
	}
	s.Table = at + data*dumpfile.PageSize
	sum := readSessionEntries(sp, s, sl, lay)
	readSessionExpansion(f, f, sp, s, sl, lay, r, sum)
	setSessionUsages(s, sum)
}

// readSessionMember reads a session whose tracker is MM_SESSION_SPACE's
// PoolTags member, all of it through the session's page tables.
func readSessionMember(f *dumpfile.File, s *SessionPool, by sessionProc, sl sessionLayout, lay *Layout, r sessionRange) {
	dtb := by.dtb
	sp, err := f.Space(dtb)
	if err != nil {
		s.Missing = append(s.Missing, fmt.Sprintf("the session's page directory (DirectoryTableBase %#x) is not in the dump: %v", dtb, err))
		return
	}
	var id [4]byte
	if _, err := sp.ReadVirtual(s.Struct+uint64(sl.sessionID), id[:]); err != nil {
		s.Missing = append(s.Missing, fmt.Sprintf("MM_SESSION_SPACE at %#x unreadable: %v", s.Struct, err))
		return
	}
	s.ID = binary.LittleEndian.Uint32(id[:])
	var member *sessionMember
	if sl.sessionLinks != 0 {
		member = &sessionMember{name: by.name, links: by.eprocess + uint64(sl.sessionLinks)}
	}
	if err := checkProcessList(f, sp, s.Struct+uint64(sl.processList), member); err != nil {
		s.Missing = append(s.Missing, fmt.Sprintf("MM_SESSION_SPACE at %#x is not a session structure: %v", s.Struct, err))
		return
	}
	s.Table = s.Struct + uint64(sl.poolTags)
	sum := readSessionEntries(sp, s, sl, lay)
	readSessionExpansion(f, sp, sp, s, sl, lay, r, sum)
	setSessionUsages(s, sum)
}

// maxSessionProcesses bounds the walk of one session's ProcessList: a
// corrupt list must end.
const maxSessionProcesses = 4096

// sessionMember is the process through which a session was found: its
// image name and the address of its EPROCESS.SessionProcessLinks.
type sessionMember struct {
	name  string
	links uint64
}

// checkProcessList checks that head, MM_SESSION_SPACE.ProcessList, is the
// head of a list: not empty (the session has processes), its first
// entry's Blink and its last entry's Flink pointing back at it. An
// EPROCESS.Session that points into some other structure, or to the
// wrong place in a real one, fails here instead of reading as an empty
// table. With member (EPROCESS.SessionProcessLinks sourced), the list is walked, at most maxSessionProcesses entries,
// back to its head, and member's SessionProcessLinks must be on it: a
// Session pointer into another session's structure fails here, and so
// does a list that loops. Entries (EPROCESS.SessionProcessLinks, system
// space) are read through the session's tables, else the kernel's.
func checkProcessList(f *dumpfile.File, sp *dumpfile.Space, head uint64, member *sessionMember) error {
	ps := f.Arch().PointerSize()
	ptr := func(va uint64) (uint64, error) {
		var b [8]byte
		if _, err := sp.ReadVirtual(va, b[:ps]); err == nil {
			if ps == 4 {
				return uint64(binary.LittleEndian.Uint32(b[:4])), nil
			}
			return binary.LittleEndian.Uint64(b[:]), nil
		}
		return f.ReadPointer(va)
	}
	flink, err := ptr(head)
	if err != nil {
		return fmt.Errorf("its ProcessList at %#x is unreadable: %w", head, err)
	}
	blink, err := ptr(head + uint64(ps))
	if err != nil {
		return fmt.Errorf("its ProcessList at %#x is unreadable: %w", head, err)
	}
	if flink == head || blink == head || flink == 0 || blink == 0 {
		return fmt.Errorf("its ProcessList at %#x is empty (Flink %#x, Blink %#x), yet processes name it", head, flink, blink)
	}
	if back, err := ptr(flink + uint64(ps)); err != nil || back != head {
		return fmt.Errorf("its ProcessList at %#x: the first entry, %#x, does not link back to it", head, flink)
	}
	if fwd, err := ptr(blink); err != nil || fwd != head {
		return fmt.Errorf("its ProcessList at %#x: the last entry, %#x, does not link back to it", head, blink)
	}
	if member == nil {
		return nil
	}
	seen := map[uint64]bool{}
	on := false
	for e := flink; e != head; {
		if seen[e] {
			return fmt.Errorf("its ProcessList at %#x loops: entry %#x comes round again before the list returns to its head", head, e)
		}
		if len(seen) == maxSessionProcesses {
			return fmt.Errorf("its ProcessList at %#x runs past %d entries without returning to its head", head, maxSessionProcesses)
		}
		seen[e] = true
		on = on || e == member.links
		next, err := ptr(e)
		if err != nil {
			return fmt.Errorf("its ProcessList at %#x: entry %#x is unreadable: %w", head, e, err)
		}
		e = next
	}
	if !on {
		return fmt.Errorf("its ProcessList at %#x (%d entries) does not hold %s, the process that names it (SessionProcessLinks at %#x)", head, len(seen), member.name, member.links)
	}
	return nil
}

// readSessionEntries reads the tracker table at s.Table: the largest
// power of two of entries in the layout's tag pages. It returns the tags
// summed, nil when the table was not read or is not a tracker table.
func readSessionEntries(sp *dumpfile.Space, s *SessionPool, sl sessionLayout, lay *Layout) map[pooltag.Tag]*Usage {
	miss := func(format string, a ...any) { s.Missing = append(s.Missing, fmt.Sprintf(format, a...)) }
	n := sl.tagPages * dumpfile.PageSize / lay.EntrySize
	if sl.tableBytes > 0 {
		n = sl.tableBytes / lay.EntrySize
	}
	s.TableSize = 1 << (bits.Len(uint(n)) - 1)
	t := readTable(sp, s.Table, s.TableSize, lay)
	for _, d := range t.span.describe() {
		miss("session tracker table: %s", d)
	}
	if t.Unreadable() == t.Size {
		return nil
	}
	keys := make([]uint32, t.Size)
	present := make([]bool, t.Size)
	for i, u := range t.entries {
		keys[i], present[i] = uint32(u.Tag), !t.bad[i]
	}
	good, bad, name := sessionKeysFit(keys, present)
	if bad*50 > good {
		miss("the %d entries at %#x are not a session tracker table: %d keys sit where neither hash puts them, %d where one does", t.Size, s.Table, bad, good)
		return nil
	}
	s.Hash = name
	// Full: no free slot below the last. The kernel skips the last slot
	// when it looks for a free one (WRK ex/pool.c keeps it as the session
	// table's overflow bucket, ASSERT Key 0 or Ovfl; a decompiled Windows
	// 10 ExAllocateHeapPool steps over index size - 1 of
	// ExpSessionPoolTrackTable), so a table is full one slot early.
	s.Full = true
	sum := map[pooltag.Tag]*Usage{}
	for i, u := range t.entries {
		if t.bad[i] || u.Tag == 0 {
			if i < t.Size-1 {
				s.Full = false // a free slot, or one the dump does not hold: not known full
			}
			continue
		}
		add(sum, u)
	}
	return sum
}

// setSessionUsages sorts the summed tags into s.Usages.
func setSessionUsages(s *SessionPool, sum map[pooltag.Tag]*Usage) {
	for _, u := range sum {
		s.Usages = append(s.Usages, *u)
	}
	sort.Slice(s.Usages, func(i, j int) bool { return s.Usages[i].Tag.Less(s.Usages[j].Tag) })
}

// tableEntries is the largest power of two of entries that fits the
// table's bytes (WRK session.c; 16384 bytes of 0x38-byte entries hold
// 256).
func tableEntries(tableBytes int, lay *Layout) int {
	return 1 << (bits.Len(uint(tableBytes/lay.EntrySize)) - 1)
}

// minPlacementKeys is how many keys, over all sessions, must sit at their
// hash slots before a candidate placement is believed.
const minPlacementKeys = 8

// placementFit is what one candidate placement held over all sessions.
type placementFit struct {
	good, bad, sessions int
	prefix              bool // a table of twice the entries fits better: the candidate is part of a larger one
}

func (p placementFit) fits() bool {
	return p.good >= minPlacementKeys && p.bad*50 <= p.good && !p.prefix
}

// sessionKeysAt reads a table of n entries at va and checks its keys at their
// hash slots; ok is false when no entry was readable.
func sessionKeysAt(sp *dumpfile.Space, va uint64, n int, lay *Layout) (good, bad int, ok bool) {
	t := readTable(sp, va, n, lay)
	if t.Unreadable() == t.Size {
		return 0, 0, false
	}
	keys := make([]uint32, t.Size)
	present := make([]bool, t.Size)
	for i, u := range t.entries {
		keys[i], present[i] = uint32(u.Tag), !t.bad[i]
	}
	good, bad, _ = sessionKeysFit(keys, present)
	return good, bad, true
}

// choosePlacement reads every candidate placement of the tracker in each
// session's structure and accepts the one whose keys sit at their hash
// slots: at least minPlacementKeys of them over all sessions, almost none
// elsewhere, and not the first half of a larger table (read at twice the
// entries, the keys of a table of the other size fit better). It fails,
// naming what each candidate held, when none fits or more than one does.
func choosePlacement(f *dumpfile.File, structs, dtbs []uint64, sl sessionLayout, lay *Layout) (tablePlacement, string, error) {
	fit := make([]placementFit, len(sl.candidates))
	for i, st := range structs {
		sp, err := f.Space(dtbs[i])
		if err != nil {
			continue
		}
		for j, c := range sl.candidates {
			n := tableEntries(c.bytes, lay)
			g, b, ok := sessionKeysAt(sp, st+uint64(c.offset), n, lay)
			if !ok {
				continue
			}
			fit[j].good += g
			fit[j].bad += b
			fit[j].sessions++
			if g2, b2, ok := sessionKeysAt(sp, st+uint64(c.offset), 2*n, lay); ok && g2 > g && b2*50 <= g2 {
				fit[j].prefix = true
			}
		}
	}
	var held []string
	var chosen []int
	for j, c := range sl.candidates {
		h := fmt.Sprintf("PoolTags at %#x (%d bytes, %d entries): %d keys at their hash slots, %d elsewhere, in %d sessions",
			c.offset, c.bytes, tableEntries(c.bytes, lay), fit[j].good, fit[j].bad, fit[j].sessions)
		if fit[j].prefix {
			h += ", the first half of a larger table"
		}
		held = append(held, h)
		if fit[j].fits() {
			chosen = append(chosen, j)
		}
	}
	switch len(chosen) {
	case 1:
		c := sl.candidates[chosen[0]]
		var others []string
		for j := range sl.candidates {
			if j != chosen[0] {
				others = append(others, held[j])
			}
		}
		return c, fmt.Sprintf("tracker placement chosen by the data, not the symbols: %s; the other candidate, %s",
			held[chosen[0]], joinAnd(others)), nil
	case 0:
		return tablePlacement{}, "", fmt.Errorf("no candidate placement of the tracker in MM_SESSION_SPACE is confirmed by the data (%d keys at their hash slots needed) and the symbols do not place it, so nothing is read: %s",
			minPlacementKeys, joinAnd(held))
	}
	return tablePlacement{}, "", fmt.Errorf("more than one candidate placement of the tracker in MM_SESSION_SPACE fits the data and the symbols do not choose, so nothing is read: %s", joinAnd(held))
}

// confirmFollowing holds a build whose sources do not place the tracker
// to the rule choosePlacement applies: the table found after the
// structure's pages must hold at least minPlacementKeys keys at their
// hash slots over all sessions, almost none elsewhere, and not be the
// first half of a larger table. It says what the table held, and fails
// when the data does not confirm it.
func confirmFollowing(f *dumpfile.File, sessions []SessionPool, foundBy map[uint64]sessionProc, lay *Layout) (string, error) {
	var fit placementFit
	entries := 0
	for _, s := range sessions {
		if s.Table == 0 || s.TableSize == 0 {
			continue
		}
		sp, err := f.Space(foundBy[s.Struct].dtb)
		if err != nil {
			continue
		}
		g, b, ok := sessionKeysAt(sp, s.Table, s.TableSize, lay)
		if !ok {
			continue
		}
		entries = s.TableSize
		fit.good += g
		fit.bad += b
		fit.sessions++
		if g2, b2, ok := sessionKeysAt(sp, s.Table, 2*s.TableSize, lay); ok && g2 > g && b2*50 <= g2 {
			fit.prefix = true
		}
	}
	held := fmt.Sprintf("the table after MM_SESSION_SPACE's pages in session space (as on Server 2003 to 7; %d entries): %d keys at their hash slots, %d elsewhere, in %d sessions",
		entries, fit.good, fit.bad, fit.sessions)
	if fit.prefix {
		held += ", the first half of a larger table"
	}
	if !fit.fits() {
		return "", fmt.Errorf("no candidate placement of the tracker is confirmed by the data (%d keys at their hash slots needed) and no source places it, so nothing is read: %s",
			minPlacementKeys, held)
	}
	return "tracker placement chosen by the data, not the symbols: " + held, nil
}

// sessionKeysFit checks keys against both hashes with the session mask
// (size - 1: every slot hashes, no sentinel). The kernel never gives the
// last slot to a tag, so an empty last slot does not end a probe: a key
// may have been placed past it.
func sessionKeysFit(keys []uint32, present []bool) (good, bad int, name string) {
	best := -1 << 62
	mask := len(keys) - 1
	path := keys
	if keys[mask] == 0 {
		path = append([]uint32(nil), keys...)
		path[mask] = 1 // stepped over, as if taken
	}
	for _, h := range []struct {
		name string
		fn   HashFunc
	}{{"multiplicative", HashMul}, {"WRK", HashWRK}} {
		g, b := 0, 0
		for i, k := range keys {
			if !present[i] || k == 0 {
				continue
			}
			switch probeFrom(path, present, int(h.fn(k))&mask, i, mask) {
			case probeGood:
				g++
			case probeBad:
				b++
			}
		}
		if g-4*b > best {
			best, good, bad, name = g-4*b, g, b, h.name
		}
	}
	return good, bad, name
}

// joinAnd joins "a", "b" and "c" as "a, b and c".
func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " and " + s[len(s)-1]
}
