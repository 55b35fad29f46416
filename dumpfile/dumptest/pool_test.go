package dumptest

import (
	"encoding/binary"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
)

// The bytes a classic page holds, spelled out per width and build.
func TestClassicPoolPageBytes(t *testing.T) {
	cases := []struct {
		arch     dumpfile.Arch
		build    uint32
		hdr      []byte // first block's header: 40 bytes nonpaged 'Abcd', protected
		second   []byte // second block's header: paged 'Ef  ', 24 bytes, after 40
		freeType byte
	}{
		// x86 2003: PoolType = type+1, so nonpaged 1 and paged 2; BlockSize:9 PoolType:7.
		{dumpfile.ArchX86, 3790, []byte{0, 0, 5, 1 << 1, 'A', 'b', 'c', 'd' | 0x80}, []byte{5, 0, 3, 2 << 1, 'E', 'f', ' ', ' '}, 0},
		// x86 7: PoolType = type|2, so nonpaged 2 and paged 3.
		{dumpfile.ArchX86PAE, 7601, []byte{0, 0, 5, 2 << 1, 'A', 'b', 'c', 'd' | 0x80}, []byte{5, 0, 3, 3 << 1, 'E', 'f', ' ', ' '}, 0},
		// x64 7: bytes PreviousSize, PoolIndex, BlockSize, PoolType; 16-byte units.
		{dumpfile.ArchAMD64, 7601, []byte{0, 0, 3, 2, 'A', 'b', 'c', 'd' | 0x80}, []byte{3, 0, 2, 3, 'E', 'f', ' ', ' '}, 0},
	}
	for _, c := range cases {
		b := New(Config{Arch: c.arch, Build: c.build, Seed: 1})
		va := b.Alloc(PageSize, PageSize)
		size1 := 40
		if c.arch.Is64() {
			size1 = 48
		}
		got := b.ClassicPoolPage(va, []PoolBlock{
			{Tag: "Abcd", Size: 40, Protected: true, Data: []byte("hello")},
			{Tag: "Ef", Size: 24, Paged: true},
		})
		if len(got) != 2 || got[0].Size != size1 || got[1].Header != va+uint64(size1) {
			t.Fatalf("%v: placed %v", c.arch, got)
		}
		page := b.Read(va, PageSize)
		if string(page[:8]) != string(c.hdr) {
			t.Errorf("%v %d: first header % x, want % x", c.arch, c.build, page[:8], c.hdr)
		}
		if string(page[size1:size1+8]) != string(c.second) {
			t.Errorf("%v %d: second header % x, want % x", c.arch, c.build, page[size1:size1+8], c.second)
		}
		if string(b.Read(got[0].Body, 5)) != "hello" {
			t.Errorf("%v: data not after the header", c.arch)
		}
		// The rest of the page is one free block ending at the page's end.
		rest := size1 + 24
		if c.arch.Is64() {
			rest = size1 + 32
		}
		unit := 8
		if c.arch.Is64() {
			unit = 16
		}
		var bs, typ int
		if unit == 8 {
			w := binary.LittleEndian.Uint16(page[rest+2:])
			bs, typ = int(w&0x1FF), int(w>>9)
		} else {
			bs, typ = int(page[rest+2]), int(page[rest+3])
		}
		if rest+bs*unit != PageSize || typ != 0 {
			t.Errorf("%v: free tail at %d: %d units, type %d", c.arch, rest, bs, typ)
		}
	}
}

func TestSegmentHeapPageBytes(t *testing.T) {
	b := New(Config{Arch: dumpfile.ArchAMD64, Build: 19041, Seed: 2})
	va := b.Alloc(PageSize, PageSize)
	vs := b.SegmentHeapPage(va, SegmentVS, 0x30, []PoolBlock{{Tag: "Leak", Size: 0x40, Data: []byte("x")}, {Tag: "Othr", Size: 0x70, Paged: true}})
	if vs[0].Header != va+0x40 || vs[1].Header != va+0x40+0x40+0x10 {
		t.Fatalf("VS placement %v", vs)
	}
	h := b.Read(vs[0].Header, 8)
	if h[0] != 0 || h[2] != 4 || h[3] != 2 || string(h[4:]) != "Leak" {
		t.Errorf("VS POOL_HEADER % x", h)
	}
	enc := binary.LittleEndian.Uint64(b.Read(va+0x30, 8))
	if dec := enc ^ (va + 0x30) ^ b.heapKey; dec != 5<<16|1<<48 {
		t.Errorf("VS chunk header decodes to %#x, want size 5 units, allocated", dec)
	}
	lfh := b.SegmentHeapPage(b.Alloc(PageSize, PageSize), SegmentLFH, 0x50, []PoolBlock{{Tag: "Lf", Size: 0x30}, {Tag: "Lf", Size: 0x30, Free: true}})
	if lfh[1].Header-lfh[0].Header != 0x30 {
		t.Errorf("LFH blocks not back to back: %v", lfh)
	}
	if h := b.Read(lfh[1].Header, 4); h[2] != 3 || h[3] != 2 {
		t.Errorf("a freed LFH block keeps its header: % x", h)
	}
}

func TestBigPageTableBytes(t *testing.T) {
	cases := []struct {
		arch  dumpfile.Arch
		build uint32
		es    int
		check func(t *testing.T, e []byte)
	}{
		{dumpfile.ArchX86, 2600, 0xC, func(t *testing.T, e []byte) {
			if binary.LittleEndian.Uint32(e[8:]) != 3 {
				t.Errorf("XP NumberOfPages % x", e)
			}
		}},
		{dumpfile.ArchAMD64, 7601, 0x18, func(t *testing.T, e []byte) {
			if binary.LittleEndian.Uint32(e[0xC:]) != 1 || binary.LittleEndian.Uint64(e[0x10:]) != 0x2100 {
				t.Errorf("7 x64 entry % x", e)
			}
		}},
		{dumpfile.ArchAMD64, 22000, 0x20, func(t *testing.T, e []byte) {
			if binary.LittleEndian.Uint32(e[0xC:])>>8&0xFFF != 1 || binary.LittleEndian.Uint64(e[0x10:]) != 0x2100 {
				t.Errorf("11 x64 entry % x", e)
			}
		}},
	}
	for _, c := range cases {
		b := New(Config{Arch: c.arch, Build: c.build, Seed: 3})
		e := b.BigPoolAlloc("Big1", 0x2100, true, []byte("payload"))
		table := b.BigPageTable(16, []BigPage{e})
		v, _ := b.Symbol("PoolBigPageTable")
		sz, _ := b.Symbol("PoolBigPageTableSize")
		if b.ReadPtr(v) != table || b.ReadPtr(sz) != 16 || sz-v != uint64(b.arch.ptrSize) {
			t.Fatalf("%v: variables %#x %#x", c.arch, v, sz)
		}
		found := 0
		for i := range 16 {
			raw := b.Read(table+uint64(i*c.es), c.es)
			va := b.ReadPtr(table + uint64(i*c.es))
			if va&1 == 1 {
				continue
			}
			found++
			if va != e.VA || string(raw[b.arch.ptrSize:b.arch.ptrSize+4]) != "Big1" {
				t.Errorf("%v: entry % x", c.arch, raw)
			}
			c.check(t, raw)
		}
		if found != 1 {
			t.Errorf("%v: %d used entries", c.arch, found)
		}
	}
}
