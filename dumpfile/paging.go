package dumpfile

// pageLevel is one level of a page-table walk.
type pageLevel struct {
	name  string
	shift uint   // lowest VA bit of this level's index
	bits  uint   // index width
	block uint64 // size of the page an entry here can map directly (0: none)
}

// pagingMode describes one architecture's page tables. Entries are read
// from physical memory, root first.
type pagingMode struct {
	entrySize int
	levels    []pageLevel
	vaBits    uint   // implemented VA width; higher bits must be its sign
	addrMask  uint64 // output address bits of a table or page entry
	rootMask  uint64 // bits of the DTB that address the root table
	// isBlock reports whether a valid entry at level i maps a page
	// directly instead of pointing to the next table.
	isBlock func(e uint64, level int, m *pagingMode) bool
	// blockAddr returns the physical base of a block (large page) entry.
	blockAddr func(e uint64, size uint64) uint64
	// fixTransition cleans a leaf transition entry before its PFN is used.
	fixTransition func(e uint64) uint64
	// badEntry reports entries whose reserved bits say they are corrupt.
	badEntry func(e uint64) bool
}

// Page table entry bits shared by x86, PAE and x64.
const (
	pteValid      = 1 << 0
	ptePS         = 1 << 7
	ptePAT        = 1 << 12 // in large-page entries: the PAT bit, not an address bit
	pteTransition = 0x800
	pteTransMask  = 0xC01 // Valid | Prototype (bit 10) | Transition (bit 11)
)

func x86Block(e uint64, level int, m *pagingMode) bool {
	return m.levels[level].block != 0 && e&ptePS != 0
}

// pagingModes is the table of paging modes per architecture (Intel SDM
// vol. 3 ch. 4; ARM ARM D8; MemProcFS mm_x86*.c, mm_arm64.c).
var pagingModes = map[Arch]*pagingMode{
	ArchX86: {
		entrySize: 4,
		levels: []pageLevel{
			{"PDE", 22, 10, 4 << 20},
			{"PTE", 12, 10, 0},
		},
		vaBits:   32,
		addrMask: 0xFFFFF000,
		rootMask: 0xFFFFF000,
		isBlock:  x86Block,
		// 4 MiB page: PA bits 31:22 from the entry, and with PSE-36 bits
		// 35:32 from entry bits 16:13.
		blockAddr: func(e, size uint64) uint64 {
			return e&0xFFC00000 | (e>>13&0xF)<<32
		},
		fixTransition: func(e uint64) uint64 { return e },
		badEntry:      func(uint64) bool { return false },
	},
	ArchX86PAE: {
		entrySize: 8,
		levels: []pageLevel{
			{"PDPTE", 30, 2, 0},
			{"PDE", 21, 9, 2 << 20},
			{"PTE", 12, 9, 0},
		},
		vaBits:   32,
		addrMask: 0x000FFFFFFFFFF000,
		rootMask: 0xFFFFFFE0, // CR3 bits 31:5: a 32-byte aligned PDPT
		isBlock:  x86Block,
		blockAddr: func(e, size uint64) uint64 {
			return e & 0x000FFFFFFFFFF000 &^ (size - 1) // also clears PAT (bit 12)
		},
		fixTransition: func(e uint64) uint64 { return e },
		badEntry:      func(uint64) bool { return false },
	},
	ArchAMD64: {
		entrySize: 8,
		levels: []pageLevel{
			{"PML4E", 39, 9, 0},
			{"PDPTE", 30, 9, 1 << 30},
			{"PDE", 21, 9, 2 << 20},
			{"PTE", 12, 9, 0},
		},
		vaBits:   48,
		addrMask: 0x0000FFFFFFFFF000,
		rootMask: 0x0000FFFFFFFFF000,
		isBlock:  x86Block,
		blockAddr: func(e, size uint64) uint64 {
			return e & 0x0000FFFFFFFFF000 &^ (size - 1) // also clears PAT (bit 12)
		},
		// Transition PTEs can carry bit 45 (MemProcFS, volatility3).
		fixTransition: func(e uint64) uint64 { return e &^ (1 << 45) },
		badEntry:      func(e uint64) bool { return e&(0xF<<48) != 0 && e&pteValid != 0 },
	},
	ArchARM64: {
		entrySize: 8,
		levels: []pageLevel{
			{"L0", 39, 9, 0},
			{"L1", 30, 9, 1 << 30},
			{"L2", 21, 9, 2 << 20},
			{"L3", 12, 9, 0},
		},
		vaBits:   48,
		addrMask: 0x0003FFFFFFFFF000,
		rootMask: 0x0003FFFFFFFFF000,
		// At L1 and L2 a valid descriptor with bit 1 clear is a block.
		isBlock: func(e uint64, level int, m *pagingMode) bool {
			return m.levels[level].block != 0 && e&2 == 0
		},
		blockAddr: func(e, size uint64) uint64 {
			return e & 0x0003FFFFFFFFF000 &^ (size - 1)
		},
		fixTransition: func(e uint64) uint64 { return e },
		badEntry:      func(uint64) bool { return false },
	},
}
