package dumptest

import "encoding/binary"

// Terminal Server session space, as the builder writes it. The layout
// facts are stated here for the builder alone (the reader keeps its own
// table), one row per build family:
//
//   - EPROCESS offsets: Server 2003 SP1 x86 from a `dt nt!_EPROCESS` of the
//     WRK kernel quoted in public driver sources (ActiveProcessLinks 0x98,
//     Session 0x160, ImageFileName 0x164); Windows 7 from ntdiff/headers
//     Win7/x86 and Win7/x64 _EPROCESS.h (0xB8, 0x168, 0x16C; 0x188,
//     0x2D8, 0x2E0).
//     KPROCESS.DirectoryTableBase is at 0x18 (x86) and 0x28 (x64).
//   - MM_SESSION_SPACE: WRK mi.h (2003: GlobalVirtualAddress at 0,
//     SessionId at 0xC, 0x1EC0 bytes); ntdiff/headers Win7/x86 and x64
//     _MM_SESSION_SPACE.h (SessionId at 8; 0x2000 and 0x1F80 bytes).
//   - Where the session pool tracker lives: WRK session.c,
//     MiSessionPoolTrackTable returns MmSessionSpace + MiSessionDataPages
//     pages (the pages the structure takes), MiSessionPoolTrackTableSize
//     the largest power of two of entries in MiSessionTagSizePages (2)
//     pages; ExInitializePoolDescriptor sets the mask to size - 1 (no
//     Ovfl sentinel).
//   - MmSessionSpace: WRK mminit.c, MmSessionBase + MmSessionSize -
//     MmSessionImageSize - MI_SESSION_SPACE_STRUCT_SIZE (64 KiB) on x86;
//     the fixed 0xFFFFF90000000000 on x64 (MM_SESSION_SPACE_DEFAULT).
//   - Windows 10 1607 and 1809 x64 (ntdiff/headers Win10_1607_RS1 and
//     Win10_1809_RS5 x64 _EPROCESS.h: ActiveProcessLinks 0x2F0 and 0x2E8,
//     Session 0x400, ImageFileName 0x450, 0x7B0 and 0x850 bytes;
//     _MM_SESSION_SPACE.h: SessionId at 8, the tracker inside the
//     structure as UCHAR PoolTags[8192] at 0x2000 and 0x3000, 0x4000 and
//     0x5000 bytes).
//   - Windows 10 1703, 1709, 1803 and 1903 x64 (ntdiff/headers
//     Win10_1703_RS2, Win10_1709_RS3, Win10_1803_RS4 and Win10_1903_19H1
//     x64 _EPROCESS.h: ActiveProcessLinks 0x2E8, Session 0x400,
//     ImageFileName 0x450; 0x818, 0x838, 0x848 and 0x850 bytes;
//     _MM_SESSION_SPACE.h: SessionId at 8, PoolTags[8192] at 0x2000,
//     0x2000, 0x3000 and 0x3000; 0x4000, 0x4000, 0x5000 and 0x5000 bytes).
//     1909 (18363) is written as 1903: the 1903 kernel with an enablement
//     package that only turns features on and changes the build number
//     (Windows Insider blog on 19H2: "19H1 and 19H2 share the same
//     servicing content").
//   - Windows 10 1607 to 1809 x86 (ntdiff/headers Win10_1607_RS1,
//     Win10_1703_RS2, Win10_1709_RS3, Win10_1803_RS4 and Win10_1809_RS5
//     x86 _EPROCESS.h: ActiveProcessLinks 0xB8 (1703 and 1803 per
//     vergiliusproject x86 windows-10 _EPROCESS); Session 0x148 on 1607,
//     0x150 after; ImageFileName 0x174 on 1607, 0x17C after; 0x388, 0x3E0,
//     0x3E8, 0x400 and 0x408 bytes; _MM_SESSION_SPACE.h: SessionId at 8,
//     PoolTags[8192] at 0x3000 on 1607 (0x5000 bytes) and 0x5000 after
//     (0x7000 bytes)). Their session space moves with the system's dynamic
//     VA, so the builder's 0x9E000000 is one choice.
//     For every PoolTags build the builder writes the whole structure in
//     session space only, the case a reader can reach only through the
//     session's page tables; 1607 on randomize session space, so its
//     address here is one choice among many.
//   - Vista and Server 2008, builds 6000-6002 (ntdiff/headers WinVista
//     x86 and x64 _EPROCESS.h: ActiveProcessLinks 0xA0 and 0xE8, Session
//     0x148 and 0x230, ImageFileName 0x14C and 0x238, 0x270 and 0x3E8
//     bytes; _MM_SESSION_SPACE.h: SessionId at 8, 0x1E80 and 0x1E00
//     bytes, no PoolTags: the tracker follows the structure's pages as on
//     Server 2003 and Windows 7).
//   - The per-session expansion table, where the kernel counts tags once
//     the fixed table is full: MM_SESSION_SPACE.PoolTrackTableExpansion
//     and, right after it, PoolTrackTableExpansionSize (pointer-sized;
//     a ULONG on x86) per ntdiff/headers _MM_SESSION_SPACE.h: 0x1E54
//     (WinVista/x86), 0x1DB8 (WinVista/x64), 0x1FC8 (Win7/x86), 0x1F30 (Win7/x64), x64 0x1F78 (Win10_1607_RS1), 0x1FB0
//     (Win10_1703_RS2, Win10_1709_RS3), 0x2028 (Win10_1803_RS4,
//     Win10_1809_RS5, Win10_1903_19H1); x86 0x1FDC (Win10_1607_RS1),
//     0x4054 (Win10_1703_RS2, Win10_1709_RS3), 0x4250 (Win10_1803_RS4,
//     Win10_1809_RS5). WRK mi.h's Server 2003 structure
//     has no such member (a full session table charges its last entry,
//     keyed Ovfl, WRK ex/pool.c).
type sessionLayout struct {
	eprocessSize, links, session, imageName, dtb int
	structSize, sessionID                        int
	globalSelf                                   int // offset of GlobalVirtualAddress, -1: none
	poolTags                                     int // offset of MM_SESSION_SPACE.PoolTags, 0: the tracker follows the structure's pages
	expansion                                    int // offset of MM_SESSION_SPACE.PoolTrackTableExpansion, 0: none
	// sessionLinks is EPROCESS.SessionProcessLinks, where each process
	// sits on its session's ProcessList (PoolTags rows): x64 0x340 in
	// ntdiff/headers Win10_1607_RS1 to Win10_1903_19H1 _EPROCESS.h,
	// 0x4A0 in Win10_20H2_19569 (VirtualSize at 0x498 before it, the
	// ExceptionPortData union after it); x86 0xE8 in Win10_1607_RS1,
	// 0xF0 in Win10_1703_RS2 to Win10_1809_RS5.
	sessionLinks int
	// tags are the tracker's places and sizes; more than one when the
	// sources leave the build's PoolTags open, Session.TableAt choosing.
	// Nil: two pages (MiSessionTagSizePages) at poolTags.
	tags              []TablePlace
	base, size, space uint64
}

// TablePlace is one place of a session tracker in MM_SESSION_SPACE: the
// PoolTags member's offset and its bytes.
type TablePlace struct {
	Offset, Bytes int
}

type sessionRow struct {
	ptrSize  int
	minBuild uint32
	maxBuild uint32
	l        sessionLayout
}

var sessionRows = []sessionRow{
	{4, 3790, 3790, sessionLayout{eprocessSize: 0x278, links: 0x98, session: 0x160, imageName: 0x164, dtb: 0x18,
		structSize: 0x1EC0, sessionID: 0xC, globalSelf: 0,
		base: 0xBD000000, size: 0x2000000, space: 0xBD000000 + 0x2000000 - 0x800000 - 0x10000}},
	{4, 6000, 6002, sessionLayout{eprocessSize: 0x270, links: 0xA0, session: 0x148, imageName: 0x14C, dtb: 0x18,
		structSize: 0x1E80, sessionID: 0x8, globalSelf: -1, expansion: 0x1E54,
		base: 0xBD000000, size: 0x2000000, space: 0xBD000000 + 0x2000000 - 0x800000 - 0x10000}},
	{8, 6000, 6002, sessionLayout{eprocessSize: 0x3E8, links: 0xE8, session: 0x230, imageName: 0x238, dtb: 0x28,
		structSize: 0x1E00, sessionID: 0x8, globalSelf: -1, expansion: 0x1DB8,
		base: 0xFFFFF90000000000, size: 0x8000000000, space: 0xFFFFF90000000000}},
	{4, 7600, 7601, sessionLayout{eprocessSize: 0x2C0, links: 0xB8, session: 0x168, imageName: 0x16C, dtb: 0x18,
		structSize: 0x2000, sessionID: 0x8, globalSelf: -1, expansion: 0x1FC8,
		base: 0xBD000000, size: 0x2000000, space: 0xBD000000 + 0x2000000 - 0x800000 - 0x10000}},
	{8, 7600, 7601, sessionLayout{eprocessSize: 0x4D0, links: 0x188, session: 0x2D8, imageName: 0x2E0, dtb: 0x28,
		structSize: 0x1F80, sessionID: 0x8, globalSelf: -1, expansion: 0x1F30,
		base: 0xFFFFF90000000000, size: 0x8000000000, space: 0xFFFFF90000000000}},
	// 8.1 / Server 2012 R2 x64 (9600): ntdiff/headers Win8.1/x64
	// _EPROCESS.h (ActiveProcessLinks 0x2E8, Session 0x3F0, ImageFileName
	// 0x438, 0x6B8 bytes) and _MM_SESSION_SPACE.h (SessionId at 8,
	// PoolTrackTableExpansion 0x1F98, 0x2000 bytes, no PoolTags). The
	// tracker is written after the structure's pages as on Server 2003
	// to 7: no source places it, so this is the placement a reader must
	// confirm from the keys. Session space at 0xFFFFF90000000000 as on 7.
	{8, 9600, 9600, sessionLayout{eprocessSize: 0x6B8, links: 0x2E8, session: 0x3F0, imageName: 0x438, dtb: 0x28,
		structSize: 0x2000, sessionID: 0x8, globalSelf: -1, expansion: 0x1F98,
		base: 0xFFFFF90000000000, size: 0x8000000000, space: 0xFFFFF90000000000}},
	// 8 / Server 2012 x64 (9200): ntdiff/headers Win8/x64 _EPROCESS.h
	// (0x2E8, 0x3F0, 0x438; 0x660 bytes) and _MM_SESSION_SPACE.h
	// (SessionId 8, PoolTrackTableExpansion 0x1F40, 0x1F80 bytes). 10
	// 1507 and 1511 x64 (10240, 10586): ntdiff/headers Win10_1507_TS1 and
	// Win10_1511_TS2 x64 _EPROCESS.h (ActiveProcessLinks 0x2F0, Session
	// 0x400, ImageFileName 0x448 and 0x450; 0x798 and 0x788 bytes) and
	// _MM_SESSION_SPACE.h (SessionId 8, PoolTrackTableExpansion 0x1EF0,
	// 0x1F40 bytes). No PoolTags: the tracker follows the structure's
	// pages as on 8.1; session space at 0xFFFFF90000000000 is one choice.
	{8, 9200, 9200, sessionLayout{eprocessSize: 0x660, links: 0x2E8, session: 0x3F0, imageName: 0x438, dtb: 0x28,
		structSize: 0x1F80, sessionID: 0x8, globalSelf: -1, expansion: 0x1F40,
		base: 0xFFFFF90000000000, size: 0x8000000000, space: 0xFFFFF90000000000}},
	{8, 10240, 10240, sessionLayout{eprocessSize: 0x798, links: 0x2F0, session: 0x400, imageName: 0x448, dtb: 0x28,
		structSize: 0x1F40, sessionID: 0x8, globalSelf: -1, expansion: 0x1EF0,
		base: 0xFFFFF90000000000, size: 0x8000000000, space: 0xFFFFF90000000000}},
	{8, 10586, 10586, sessionLayout{eprocessSize: 0x788, links: 0x2F0, session: 0x400, imageName: 0x450, dtb: 0x28,
		structSize: 0x1F40, sessionID: 0x8, globalSelf: -1, expansion: 0x1EF0,
		base: 0xFFFFF90000000000, size: 0x8000000000, space: 0xFFFFF90000000000}},
	{8, 14393, 14393, sessionLayout{eprocessSize: 0x7B0, links: 0x2F0, session: 0x400, imageName: 0x450, dtb: 0x28, sessionLinks: 0x340,
		structSize: 0x4000, sessionID: 0x8, globalSelf: -1, poolTags: 0x2000, expansion: 0x1F78,
		base: 0xFFFFC28000000000, size: 0x8000000000, space: 0xFFFFC28000010000}},
	{4, 14393, 14393, sessionLayout{eprocessSize: 0x388, links: 0xB8, session: 0x148, imageName: 0x174, dtb: 0x18, sessionLinks: 0xE8,
		structSize: 0x5000, sessionID: 0x8, globalSelf: -1, poolTags: 0x3000, expansion: 0x1FDC,
		base: 0x9E000000, size: 0x2000000, space: 0x9E010000}},
	{4, 15063, 15063, sessionLayout{eprocessSize: 0x3E0, links: 0xB8, session: 0x150, imageName: 0x17C, dtb: 0x18, sessionLinks: 0xF0,
		structSize: 0x7000, sessionID: 0x8, globalSelf: -1, poolTags: 0x5000, expansion: 0x4054,
		base: 0x9E000000, size: 0x2000000, space: 0x9E010000}},
	{4, 16299, 16299, sessionLayout{eprocessSize: 0x3E8, links: 0xB8, session: 0x150, imageName: 0x17C, dtb: 0x18, sessionLinks: 0xF0,
		structSize: 0x7000, sessionID: 0x8, globalSelf: -1, poolTags: 0x5000, expansion: 0x4054,
		base: 0x9E000000, size: 0x2000000, space: 0x9E010000}},
	{4, 17134, 17134, sessionLayout{eprocessSize: 0x400, links: 0xB8, session: 0x150, imageName: 0x17C, dtb: 0x18, sessionLinks: 0xF0,
		structSize: 0x7000, sessionID: 0x8, globalSelf: -1, poolTags: 0x5000, expansion: 0x4250,
		base: 0x9E000000, size: 0x2000000, space: 0x9E010000}},
	{4, 17763, 17763, sessionLayout{eprocessSize: 0x408, links: 0xB8, session: 0x150, imageName: 0x17C, dtb: 0x18, sessionLinks: 0xF0,
		structSize: 0x7000, sessionID: 0x8, globalSelf: -1, poolTags: 0x5000, expansion: 0x4250,
		base: 0x9E000000, size: 0x2000000, space: 0x9E010000}},
	{8, 15063, 15063, sessionLayout{eprocessSize: 0x818, links: 0x2E8, session: 0x400, imageName: 0x450, dtb: 0x28, sessionLinks: 0x340,
		structSize: 0x4000, sessionID: 0x8, globalSelf: -1, poolTags: 0x2000, expansion: 0x1FB0,
		base: 0xFFFFC28000000000, size: 0x8000000000, space: 0xFFFFC28000010000}},
	{8, 16299, 16299, sessionLayout{eprocessSize: 0x838, links: 0x2E8, session: 0x400, imageName: 0x450, dtb: 0x28, sessionLinks: 0x340,
		structSize: 0x4000, sessionID: 0x8, globalSelf: -1, poolTags: 0x2000, expansion: 0x1FB0,
		base: 0xFFFFC28000000000, size: 0x8000000000, space: 0xFFFFC28000010000}},
	{8, 17134, 17134, sessionLayout{eprocessSize: 0x848, links: 0x2E8, session: 0x400, imageName: 0x450, dtb: 0x28, sessionLinks: 0x340,
		structSize: 0x5000, sessionID: 0x8, globalSelf: -1, poolTags: 0x3000, expansion: 0x2028,
		base: 0xFFFFC28000000000, size: 0x8000000000, space: 0xFFFFC28000010000}},
	{8, 17763, 17763, sessionLayout{eprocessSize: 0x850, links: 0x2E8, session: 0x400, imageName: 0x450, dtb: 0x28, sessionLinks: 0x340,
		structSize: 0x5000, sessionID: 0x8, globalSelf: -1, poolTags: 0x3000, expansion: 0x2028,
		base: 0xFFFFC28000000000, size: 0x8000000000, space: 0xFFFFC28000010000}},
	{8, 18362, 18363, sessionLayout{eprocessSize: 0x850, links: 0x2E8, session: 0x400, imageName: 0x450, dtb: 0x28, sessionLinks: 0x340,
		structSize: 0x5000, sessionID: 0x8, globalSelf: -1, poolTags: 0x3000, expansion: 0x2028,
		base: 0xFFFFC28000000000, size: 0x8000000000, space: 0xFFFFC28000010000}},
	// 2004 to 22H2 (19041-19045): EPROCESS from ntdiff/headers
	// Win10_20H2_19569/x64 _EPROCESS.h (ActiveProcessLinks 0x448, Session
	// 0x558, ImageFileName 0x5A8, 0xB00 bytes), the offsets published for
	// 2004-22H2 by vergiliusproject; MM_SESSION_SPACE 0x5000 bytes,
	// SessionId at 8, PoolTags either UCHAR[16384] at 0x1000 (that
	// dump's _MM_SESSION_SPACE.h) or UCHAR[8192] at 0x3000 (as 1903).
	{8, 19041, 19045, sessionLayout{eprocessSize: 0xB00, links: 0x448, session: 0x558, imageName: 0x5A8, dtb: 0x28, sessionLinks: 0x4A0,
		structSize: 0x5000, sessionID: 0x8, globalSelf: -1, poolTags: 0x1000,
		tags: []TablePlace{{0x1000, 0x4000}, {0x3000, 0x2000}},
		base: 0xFFFFC28000000000, size: 0x8000000000, space: 0xFFFFC28000010000}},
}

// sessionTagPages is MiSessionTagSizePages (WRK session.c).
const sessionTagPages = 2

// places are the layout's tracker places: its tags, or two pages at
// poolTags.
func (l sessionLayout) places() []TablePlace {
	if l.tags != nil {
		return l.tags
	}
	return []TablePlace{{l.poolTags, sessionTagPages * PageSize}}
}

// place is the place at offset at, the first when at is 0.
func (l sessionLayout) place(at int) (TablePlace, bool) {
	ps := l.places()
	if at == 0 {
		return ps[0], true
	}
	for _, p := range ps {
		if p.Offset == at {
			return p, true
		}
	}
	return TablePlace{}, false
}

// SessionTablePlaces lists where the configured build's session tracker
// may sit in MM_SESSION_SPACE (PoolTags offset and bytes); nil for a
// build whose tracker follows the structure, or without a session row.
func (b *Builder) SessionTablePlaces() []TablePlace {
	l, ok := b.sessionLayout()
	if !ok || l.poolTags == 0 {
		return nil
	}
	return append([]TablePlace(nil), l.places()...)
}

func (b *Builder) sessionLayout() (sessionLayout, bool) {
	for _, r := range sessionRows {
		if r.ptrSize == b.arch.ptrSize && b.cfg.Build >= r.minBuild && b.cfg.Build <= r.maxBuild {
			return r.l, true
		}
	}
	return sessionLayout{}, false
}

// Session is one Terminal Server session to write.
type Session struct {
	ID        uint32
	Processes []string // image names of its processes; at least one
	// Tracker is the session pool tracker table as the kernel keeps it,
	// written at the start of the table's pages; at most the place's
	// bytes (two pages where the build has one place), except that a
	// PoolTags table may run on past the structure, as a table of another
	// build's size would.
	Tracker []byte
	// TableAt is the PoolTags offset to write the tracker at, one of the
	// build's places (SessionTablePlaces); 0: the build's first.
	TableAt int
	// AbsentTracker maps the tracker's pages but leaves them out of the
	// dump, as a dump that did not capture session space would.
	AbsentTracker bool
	// Expansion is the session's expansion table as the kernel keeps it
	// (entries packed from 0); nil leaves PoolTrackTableExpansion and its
	// size 0. It is written after the tracker in session space, or in
	// system space (kernel pool) with ExpansionInSystem.
	Expansion         []byte
	ExpansionInSystem bool
	// ExpansionSize is written to PoolTrackTableExpansionSize as given,
	// whatever Expansion holds.
	ExpansionSize uint64
	// ExpansionAbsent lists pages of the expansion table (0 is its first)
	// mapped but left out of the dump; session space only.
	ExpansionAbsent []int
}

// SessionInfo says where the builder put a session.
type SessionInfo struct {
	Struct  uint64 // global address of its MM_SESSION_SPACE: what EPROCESS.Session holds
	Space   uint64 // the same structure's address in session space (MmSessionSpace)
	Tracker uint64 // the tracker table's address in session space
	DTB     uint64 // DirectoryTableBase of the session's processes
	// Expansion is the expansion table's address; 0 without one.
	Expansion uint64
}

// SessionBuilds reports whether the builder can write session space for
// the configured build and width.
func (b *Builder) SessionBuilds() bool {
	_, ok := b.sessionLayout()
	return ok
}

// SessionExpansion reports whether the configured build keeps a
// per-session expansion table (MM_SESSION_SPACE.PoolTrackTableExpansion).
func (b *Builder) SessionExpansion() bool {
	l, ok := b.sessionLayout()
	return ok && l.expansion != 0
}

// AddSession writes a session: its MM_SESSION_SPACE (mapped both in
// system space and in session space), its processes on the active
// process list (System first, outside any session, when the list is
// empty), a page directory for them that maps session space, and the
// session's pool tracker table. MmSessionBase and MmSessionSize are set
// in KDBG. It panics on a build without a session layout row.
func (b *Builder) AddSession(s Session) SessionInfo {
	l, ok := b.sessionLayout()
	if !ok {
		b.misuse("no session space layout for %v build %d", b.cfg.Arch, b.cfg.Build)
	}
	if len(s.Processes) == 0 {
		b.misuse("session %d has no processes", s.ID)
	}
	if l.poolTags > 0 {
		place, ok := l.place(s.TableAt)
		if !ok {
			b.misuse("session %d: PoolTags at %#x is not a place of build %d", s.ID, s.TableAt, b.cfg.Build)
		}
		l.poolTags = place.Offset
	} else if s.TableAt != 0 {
		b.misuse("session %d: build %d has no PoolTags member", s.ID, b.cfg.Build)
	}
	if len(s.Tracker) > sessionTagPages*PageSize && l.poolTags == 0 {
		b.misuse("session %d tracker of %d bytes is larger than %d pages", s.ID, len(s.Tracker), sessionTagPages)
	}
	if s.Expansion != nil && l.expansion == 0 {
		b.misuse("session %d: build %d keeps no session expansion table", s.ID, b.cfg.Build)
	}
	if s.ExpansionInSystem && len(s.ExpansionAbsent) > 0 {
		b.misuse("session %d: absent expansion pages are written in session space only", s.ID)
	}
	b.sessionVars(l)
	if b.processes == 0 {
		b.addProcess(l, "System", 0, b.rootPFN<<12|b.rootOff)
	}
	if l.poolTags > 0 {
		return b.addSessionInside(l, s)
	}

	dataPages := (uint64(l.structSize) + PageSize - 1) / PageSize
	global := b.Alloc(int(dataPages*PageSize), PageSize)
	if l.globalSelf >= 0 {
		b.PutPtr(global+uint64(l.globalSelf), global)
	}
	b.PutU32(global+uint64(l.sessionID), s.ID)

	// The session's page directory maps only session space: the reader
	// reads everything else through the kernel's.
	root := b.newFrame()
	for i := uint64(0); i < dataPages; i++ {
		pa, _ := b.PhysAddr(global + i*PageSize)
		b.mapIn(root, l.space+i*PageSize, pa>>12)
	}
	tracker := l.space + dataPages*PageSize
	for i := uint64(0); i < sessionTagPages; i++ {
		var pfn uint64
		if s.AbsentTracker {
			pfn = b.phys.small() // a real frame, never stored
		} else {
			pfn = b.newFrame()
			lo := min(uint64(len(s.Tracker)), i*PageSize)
			hi := min(uint64(len(s.Tracker)), (i+1)*PageSize)
			b.writePhys(pfn, 0, s.Tracker[lo:hi])
		}
		b.mapIn(root, tracker+i*PageSize, pfn)
	}
	exp := b.sessionExpansion(s, root, tracker+sessionTagPages*PageSize)
	if exp != 0 {
		b.PutPtr(global+uint64(l.expansion), exp)
		b.PutPtr(global+uint64(l.expansion+b.arch.ptrSize), s.ExpansionSize)
	}
	for _, name := range s.Processes {
		b.addProcess(l, name, global, root<<12)
	}
	return SessionInfo{Struct: global, Space: l.space, Tracker: tracker, DTB: root << 12, Expansion: exp}
}

// AddProcess links a process outside any session (EPROCESS.Session 0,
// the kernel's page directory) on the active process list, as smss.exe
// runs before it creates session 0; System comes first when the list is
// empty. It panics on a build without a session layout row.
func (b *Builder) AddProcess(name string) {
	l, ok := b.sessionLayout()
	if !ok {
		b.misuse("no session space layout for %v build %d", b.cfg.Arch, b.cfg.Build)
	}
	dtb := b.rootPFN<<12 | b.rootOff
	if b.processes == 0 && name != "System" {
		b.addProcess(l, "System", 0, dtb)
	}
	b.addProcess(l, name, 0, dtb)
}

// sessionExpansion writes s.Expansion at next in session space (mapped
// in root) or in kernel pool, and returns its address; 0 when s has none.
func (b *Builder) sessionExpansion(s Session, root, next uint64) uint64 {
	if s.Expansion == nil {
		return 0
	}
	if s.ExpansionInSystem {
		va := b.Alloc(len(s.Expansion), PageSize)
		b.Write(va, s.Expansion)
		return va
	}
	absent := map[int]bool{}
	for _, p := range s.ExpansionAbsent {
		absent[p] = true
	}
	pages := (len(s.Expansion) + PageSize - 1) / PageSize
	for i := 0; i < max(pages, 1); i++ {
		var pfn uint64
		if absent[i] {
			pfn = b.phys.small() // a real frame, never stored
		} else {
			pfn = b.newFrame()
			lo, hi := min(len(s.Expansion), i*PageSize), min(len(s.Expansion), (i+1)*PageSize)
			b.writePhys(pfn, 0, s.Expansion[lo:hi])
		}
		b.mapIn(root, next+uint64(i)*PageSize, pfn)
	}
	return next
}

// addSessionInside writes a session whose tracker is the structure's
// PoolTags member, all of it in session space: EPROCESS.Session holds the
// session-space address, one 64 KiB slot per session ID so that each
// session's structure has its own address.
func (b *Builder) addSessionInside(l sessionLayout, s Session) SessionInfo {
	if s.ID >= 1<<16 {
		b.misuse("session ID %d: the builder places sessions 0-65535", s.ID)
	}
	at := l.space + uint64(s.ID)*0x10000
	if l.structSize+len(s.Expansion) > 0x10000 && !s.ExpansionInSystem {
		b.misuse("session %d: a %d-byte expansion table does not fit the session's 64 KiB slot", s.ID, len(s.Expansion))
	}
	root := b.newFrame()
	head := uint64(l.poolTags) / PageSize
	pages := max(uint64(l.structSize), uint64(l.poolTags+len(s.Tracker))+PageSize-1) / PageSize
	if pages*PageSize+uint64(len(s.Expansion)) > 0x10000 {
		b.misuse("session %d: a tracker of %d bytes at %#x runs past the session's 64 KiB slot", s.ID, len(s.Tracker), l.poolTags)
	}
	frames := make([]uint64, pages)
	for i := range frames {
		i := uint64(i)
		var pfn uint64
		switch {
		case i >= head && s.AbsentTracker:
			pfn = b.phys.small() // a real frame, never stored
		default:
			pfn = b.newFrame()
		}
		frames[i] = pfn
		if i >= head && !s.AbsentTracker {
			lo := min(uint64(len(s.Tracker)), (i-head)*PageSize)
			hi := min(uint64(len(s.Tracker)), (i-head+1)*PageSize)
			b.writePhys(pfn, 0, s.Tracker[lo:hi])
		}
		b.mapIn(root, at+i*PageSize, pfn)
	}
	var id [4]byte
	binary.LittleEndian.PutUint32(id[:], s.ID)
	b.writePhys(frames[0], uint64(l.sessionID), id[:])
	exp := b.sessionExpansion(s, root, at+pages*PageSize)
	if exp != 0 {
		ps := b.arch.ptrSize
		w := make([]byte, 2*ps)
		if ps == 4 { // a ULONG size on x86
			binary.LittleEndian.PutUint32(w, uint32(exp))
			binary.LittleEndian.PutUint32(w[4:], uint32(s.ExpansionSize))
		} else {
			binary.LittleEndian.PutUint64(w, exp)
			binary.LittleEndian.PutUint64(w[8:], s.ExpansionSize)
		}
		off := uint64(l.expansion)
		b.writePhys(frames[off/PageSize], off%PageSize, w) // both words in one page: the offsets are 8-aligned, far from a page end
	}
	// MM_SESSION_SPACE.ProcessList at 0x10 on every PoolTags build
	// (ntdiff/headers _MM_SESSION_SPACE.h, 1607 on, x86 and x64): a
	// circular list of the processes' SessionProcessLinks, written inside
	// each EPROCESS; the head is in session space.
	const processList = 0x10
	if l.sessionLinks == 0 {
		b.misuse("build %d: no EPROCESS.SessionProcessLinks offset in the session row", b.cfg.Build)
	}
	ps := uint64(b.arch.ptrSize)
	listHead := at + processList
	prev := listHead
	var cells []uint64
	for _, name := range s.Processes {
		ep := b.addProcess(l, name, at, root<<12)
		c := ep + uint64(l.sessionLinks)
		b.PutPtr(c+ps, prev)
		if prev != listHead {
			b.PutPtr(prev, c)
		}
		cells = append(cells, c)
		prev = c
	}
	b.PutPtr(prev, listHead)
	var links [16]byte
	put := func(off int, v uint64) {
		if ps == 4 {
			binary.LittleEndian.PutUint32(links[off:], uint32(v))
		} else {
			binary.LittleEndian.PutUint64(links[off:], v)
		}
	}
	put(0, cells[0])
	put(int(ps), prev)
	b.writePhys(frames[0], processList, links[:2*ps])
	return SessionInfo{Struct: at, Space: at, Tracker: at + uint64(l.poolTags), DTB: root << 12, Expansion: exp}
}

// mapIn maps va to frame pfn in the page tables rooted at root.
func (b *Builder) mapIn(root, va, pfn uint64) {
	p, off := b.slotIn(root, 0, va, len(b.arch.levels)-1)
	b.setEntry(p, off, b.arch.page(pfn<<12))
}

// sessionVars creates MmSessionBase and MmSessionSize once.
func (b *Builder) sessionVars(l sessionLayout) {
	if _, ok := b.syms["MmSessionBase"]; ok {
		return
	}
	ps := b.arch.ptrSize
	for _, v := range []struct {
		name string
		off  int
		val  uint64
	}{{"MmSessionBase", KDBGMmSessionBase, l.base}, {"MmSessionSize", KDBGMmSessionSize, l.size}} {
		va := b.KernelVar(ps)
		b.PutPtr(va, v.val)
		b.syms[v.name] = va
		b.SetKDBG(v.off, va)
	}
}

// addProcess writes an EPROCESS and links it at the tail of
// PsActiveProcessHead.
func (b *Builder) addProcess(l sessionLayout, name string, session, dtb uint64) uint64 {
	if len(name) > 15 {
		b.misuse("process name %q: ImageFileName holds 15 characters", name)
	}
	ep := b.Alloc(l.eprocessSize, 16)
	ps := uint64(b.arch.ptrSize)
	if ps == 4 {
		b.PutU32(ep+uint64(l.dtb), uint32(dtb))
	} else {
		b.PutU64(ep+uint64(l.dtb), dtb)
	}
	b.PutPtr(ep+uint64(l.session), session)
	b.Write(ep+uint64(l.imageName), append([]byte(name), 0))
	head := b.syms["PsActiveProcessHead"]
	links := ep + uint64(l.links)
	last := b.ReadPtr(head + ps)
	b.PutPtr(links, head)
	b.PutPtr(links+ps, last)
	b.PutPtr(last, links)
	b.PutPtr(head+ps, links)
	b.processes++
	return ep
}
