package dumptest

// Pool layout facts, one table per structure. Sources: the Windows
// Research Kernel (Server 2003 SP1: base/ntos/inc/pool.h, ex/pool.c),
// ReactOS (ntoskrnl/mm/ARM3/expool.c), symbol-derived type dumps per build
// (Vergilius Project, ntdiff/headers: _POOL_HEADER, _POOL_TRACKER_BIG_PAGES),
// volatility 2 overlays (windows.py, win7.py) and rekall for the PoolType
// encodings, MemProcFS vmmwinpool.c for the big page entries of Windows 10
// and 11, Yason (Black Hat USA 2016) and Bayet and Fariello (SSTIC 2020)
// for the segment heap.

// segmentHeapBuild is Windows 10 1809, the first build whose kernel pool
// is the segment heap: real 1809 x64 kernel pages (memory/rewind-17763 in
// the real data) hold VS chunks one encoded chunk header apart and no page
// tiled by POOL_HEADERs; MemProcFS parses pool as heap from 1809 on.
// Write-ups that say 1903 (19H1) are a build late.
const segmentHeapBuild = 17763

// poolHeaderLayout is _POOL_HEADER for one pointer width.
type poolHeaderLayout struct {
	size      int    // bytes: 8 (x86), 16 (x64: ProcessBilled follows the tag)
	unit      int    // bytes per BlockSize/PreviousSize unit (POOL_BLOCK_SHIFT)
	maxBlocks uint32 // largest BlockSize the field holds
	maxType   uint32 // largest PoolType the field holds
	maxSmall  int    // largest block that is not a big allocation, header included
}

var poolHeaders = map[int]poolHeaderLayout{
	// x86: USHORT PreviousSize:9, PoolIndex:7; USHORT BlockSize:9,
	// PoolType:7; ULONG PoolTag. Blocks above 0xFF0 bytes of data go to
	// whole pages.
	4: {size: 8, unit: 8, maxBlocks: 0x1FF, maxType: 0x7F, maxSmall: 0xFF8},
	// x64: UCHAR PreviousSize, PoolIndex, BlockSize, PoolType; ULONG
	// PoolTag; PEPROCESS ProcessBilled. Above 0xFE0 bytes of data: pages.
	8: {size: 16, unit: 16, maxBlocks: 0xFF, maxType: 0xFF, maxSmall: 0xFF0},
}

func poolHeaderFor(ptrSize int) poolHeaderLayout { return poolHeaders[ptrSize] }

// headerPoolType is the PoolType byte of a block in use. Up to Server
// 2003 the kernel stores the pool type plus one (WRK pool.c), so
// nonpaged blocks are odd; from Vista on it ORs in POOL_IN_USE_MASK (2),
// so nonpaged blocks are even and paged ones odd (volatility win7
// overlay, rekall). Session pool adds SESSION_POOL_MASK (0x20) either way.
func headerPoolType(build uint32, paged, session bool) uint32 {
	base := uint32(0)
	if paged {
		base = 1
	}
	if session {
		base |= 0x20
	}
	if build < 6000 {
		return base + 1
	}
	return base | 2
}

// bigPageLayout is _POOL_TRACKER_BIG_PAGES: offsets, -1 where absent.
type bigPageLayout struct {
	size     int
	key      int
	pages    int  // NumberOfPages (before Vista)
	poolType int  // PoolType, or the bitfield holding it
	bitfield bool // Pattern:8, PoolType:12, SlushSize:12 (Windows 10 and later)
	bytes    int  // NumberOfBytes (SIZE_T)
}

type bigPageRow struct {
	ptrSize  int
	minBuild uint32
	layout   bigPageLayout
}

// bigPageRows: ordered by width, then build; the last row at or below a
// build applies. Va is always at offset 0.
var bigPageRows = []bigPageRow{
	{4, 0, bigPageLayout{size: 0xC, key: 4, pages: 8, poolType: -1, bytes: -1}},      // XP x86
	{4, 3790, bigPageLayout{size: 0x10, key: 4, pages: 8, poolType: -1, bytes: -1}},  // 2003 x86 (QuotaObject at 0xC)
	{4, 6000, bigPageLayout{size: 0x10, key: 4, pages: -1, poolType: 8, bytes: 0xC}}, // Vista-8.1 x86
	{4, 10240, bigPageLayout{size: 0x10, key: 4, pages: -1, poolType: 8, bitfield: true, bytes: 0xC}},
	{8, 0, bigPageLayout{size: 0x18, key: 8, pages: 0xC, poolType: -1, bytes: -1}},      // 2003 x64 (QuotaObject at 0x10)
	{8, 6000, bigPageLayout{size: 0x18, key: 8, pages: -1, poolType: 0xC, bytes: 0x10}}, // Vista-8.1 x64
	{8, 10240, bigPageLayout{size: 0x18, key: 8, pages: -1, poolType: 0xC, bitfield: true, bytes: 0x10}},
	{8, 20348, bigPageLayout{size: 0x20, key: 8, pages: -1, poolType: 0xC, bitfield: true, bytes: 0x10}}, // ProcessBilled at 0x18
}

func bigPageLayoutFor(ptrSize int, build uint32) bigPageLayout {
	var l bigPageLayout
	for _, r := range bigPageRows {
		if r.ptrSize == ptrSize && build >= r.minBuild {
			l = r.layout
		}
	}
	return l
}

// lfhSubsegmentLayout is _HEAP_LFH_SUBSEGMENT, the header at the start of
// a segment-heap LFH subsegment, builds 17763 to 26099 (ntdiff/headers and
// Vergilius, ntdll and ntoskrnl: _HEAP_LFH_SUBSEGMENT and
// _HEAP_LFH_SUBSEGMENT_ENCODED_OFFSETS { USHORT BlockSize; USHORT
// FirstBlockOffset; } as one ULONG EncodedData). BlockOffsets is stored as
// EncodedData ^ LfhKey ^ ((ULONG)subsegment >> 12) (MemProcFS
// vmmwinpool.c; Yason, Black Hat USA 2016). BlockBitmap holds two bits a
// block, bit 0 busy; on the real 1809 pages it covers BlockCount +
// WitheldBlockCount blocks in whole words, its pairs past BlockCount read
// 11, and the commit state (a byte per commit unit, at CommitStateOffset)
// follows it.
type lfhSubsegmentLayout struct {
	freeCount, blockCount, location int // USHORT, USHORT, UCHAR
	witheld                         int // UCHAR WitheldBlockCount
	blockOffsets                    int // ULONG, encoded
	unitShift, unitCount            int // UCHAR CommitUnitShift, CommitUnitCount
	commitStateOffset               int // USHORT
	bitmap, bitmapWord              int // BlockBitmap: ULONGLONG[] on x64, ULONG[] on x86
}

var lfhSubsegments = map[int]lfhSubsegmentLayout{
	// x64: ListEntry 0, Owner 0x10, CommitLock 0x18, FreeCount 0x20,
	// BlockCount 0x22, FreeHint 0x24, Location 0x26, WitheldBlockCount
	// 0x27, BlockOffsets 0x28, CommitUnitShift 0x2c, CommitUnitCount
	// 0x2d, CommitStateOffset 0x2e, BlockBitmap 0x30.
	8: {0x20, 0x22, 0x26, 0x27, 0x28, 0x2c, 0x2d, 0x2e, 0x30, 8},
	// x86: ListEntry 0, Owner 8, CommitLock 0xc, FreeCount 0x10,
	// BlockCount 0x12, FreeHint 0x14, Location 0x16, BlockOffsets 0x18,
	// CommitUnitShift 0x1c, CommitUnitCount 0x1d, CommitStateOffset 0x1e,
	// BlockBitmap 0x20 (WitheldBlockCount 0x17 as on x64, after Location).
	4: {0x10, 0x12, 0x16, 0x17, 0x18, 0x1c, 0x1d, 0x1e, 0x20, 4},
}

// vsFreeNode is where _HEAP_VS_CHUNK_FREE_HEADER puts its
// _RTL_BALANCED_NODE (Left, Right, ParentValue: three pointers): right
// after the first word of the chunk header, over the rest of it and over
// the POOL_HEADER that followed (ntdiff/headers Win10_1809_RS5 x64 ntdll:
// OverlapsHeader ULONGLONG 0, Node 0x8, size 0x20; Vergilius x86:
// OverlapsHeader ULONG 0, Node 0x4, size 0x10).
var vsFreeNode = map[int]int{8: 8, 4: 4}
