package dumptest

import (
	"encoding/binary"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
)

// The subsegment's bytes, read back at the offsets the layout states:
// BlockOffsets decodes with the key and the address, the bitmap marks
// busy blocks 01, free and never allocated ones 00, the pairs past
// BlockCount 11, and a freed block keeps its POOL_HEADER.
func TestLFHSubsegmentBytes(t *testing.T) {
	le := binary.LittleEndian
	for _, c := range []struct {
		arch                                dumpfile.Arch
		count, offsets, state, bitmap, link int
	}{{dumpfile.ArchAMD64, 0x22, 0x28, 0x2e, 0x30, 8}, {dumpfile.ArchX86PAE, 0x12, 0x18, 0x1e, 0x20, 4}} {
		b := New(Config{Arch: c.arch, Build: 19041, Seed: 4})
		va := b.Alloc(2*PageSize, PageSize)
		blocks := []PoolBlock{{Tag: "Lf", Size: 0x80}, {Tag: "Lf", Size: 0x80, Free: true}, {Tag: "Lf", Size: 0x80}}
		out := b.LFHSubsegment(LFHSubsegment{VA: va, Pages: 2, BlockSize: 0x80, Blocks: blocks})
		h := b.Read(va, 0x100)
		dec := le.Uint32(h[c.offsets:]) ^ b.LFHKey() ^ uint32(va)>>12
		size, first := int(dec&0xFFFF), int(dec>>16)
		// 0x2000/0x80 = 64 blocks: 128 bits of bitmap, then 2 commit bytes.
		state := c.bitmap + 16
		if size != 0x80 || int(le.Uint16(h[c.state:])) != state || first < state+2 || first%16 != 0 && c.link == 8 {
			t.Fatalf("%v: size %#x first %#x state %#x", c.arch, size, first, le.Uint16(h[c.state:]))
		}
		count := int(le.Uint16(h[c.count:]))
		if count != (0x2000-first)/0x80 || out[1].Header != va+uint64(first+0x80) {
			t.Errorf("%v: count %d, blocks %v", c.arch, count, out)
		}
		pair := func(i int) byte { return h[c.bitmap+i/4] >> (2 * (i % 4)) & 3 }
		if pair(0) != 1 || pair(1) != 0 || pair(2) != 1 || pair(3) != 0 || pair(count) != 3 || pair(63) != 3 {
			t.Errorf("%v: bitmap % x", c.arch, h[c.bitmap:state])
		}
		if link := h[:c.link]; le.Uint32(link[c.link-4:]) < 0x80000000 {
			t.Errorf("%v: ListEntry % x is no kernel address", c.arch, link)
		}
		if hdr := b.Read(out[1].Header, 8); string(hdr[4:6]) != "Lf" || hdr[0] != 0 {
			t.Errorf("%v: freed block's header % x", c.arch, hdr)
		}
	}
}

// A free VS chunk: its encoded header says not allocated, and the free
// tree node lies where the POOL_HEADER was (its Right link, a kernel
// address, over the header's first bytes; its parent over the tag).
func TestVSFreeChunkBytes(t *testing.T) {
	for _, c := range []struct {
		arch dumpfile.Arch
		ptr  int
	}{{dumpfile.ArchAMD64, 8}, {dumpfile.ArchX86PAE, 4}} {
		b := New(Config{Arch: c.arch, Build: 19041, Seed: 6})
		va := b.Alloc(PageSize, PageSize)
		out := b.SegmentHeapPage(va, SegmentVS, 0x40, []PoolBlock{{Tag: "Leak", Size: 0x40}, {Tag: "Leak", Size: 0x60, Free: true}})
		chunk := out[1].Header - uint64(c.ptr*2) // the chunk header is two pointers long
		raw := b.Read(chunk, 4*c.ptr)
		right, parent := raw[2*c.ptr:3*c.ptr], raw[3*c.ptr:]
		top := func(p []byte) byte { return p[len(p)-1] }
		if top(right) < 0x80 || top(parent) < 0x80 || !out[1].Free {
			t.Errorf("%v: free chunk % x", c.arch, raw)
		}
		if c.ptr == 8 {
			dec := binary.LittleEndian.Uint64(raw) ^ chunk ^ b.heapKey
			if dec>>48&0xFF != 0 || dec>>16&0xFFFF != 7 {
				t.Errorf("free chunk header decodes to %#x", dec)
			}
		}
	}
}
