package dumptest_test

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// This file reads generated dumps back with literal offsets from
// shared/reference/dump-format.md, independently of the generator's own
// layout tables, so that a wrong table shows up as a failing test.

var le = binary.LittleEndian

// dump is what the tests learn from a file's bytes.
type dump struct {
	data  []byte
	is64  bool
	typ   uint64
	dtb   uint64
	pages map[uint64]uint64 // stored PFN -> file offset

	// Container facts, for the tests that check them.
	runs         [][2]uint64 // type 1: descriptor runs
	runPages     uint64      // type 1: NumberOfPages
	firstPage    uint64
	present      uint64 // types 2, 5, 6: the header's count of stored pages
	setBits      uint64 // types 2, 5, 6: set bits in the bitmap
	bitmapPages  uint64 // bits in the bitmap
	rdmpRanges   [][2]uint64
	rdmpMetadata uint64
}

func u32(b []byte, off int) uint64 { return uint64(le.Uint32(b[off:])) }
func u64(b []byte, off int) uint64 { return le.Uint64(b[off:]) }

// build makes the dump bytes, failing the test on error.
func build(t testing.TB, b *dumptest.Builder) []byte {
	t.Helper()
	data, err := b.Bytes()
	if err != nil {
		t.Fatalf("Bytes: %v", err)
	}
	return data
}

func parse(t testing.TB, data []byte) *dump {
	t.Helper()
	d := &dump{data: data, pages: map[uint64]uint64{}}
	if string(data[:4]) != "PAGE" {
		t.Fatalf("signature %q, want PAGE", data[:4])
	}
	switch string(data[4:8]) {
	case "DUMP":
		d.typ, d.dtb = u32(data, 0xF88), u32(data, 0x10)
	case "DU64":
		d.is64 = true
		d.typ, d.dtb = u32(data, 0xF98), u64(data, 0x10)
	default:
		t.Fatalf("ValidDump %q", data[4:8])
	}
	hsize := uint64(0x1000)
	if d.is64 {
		hsize = 0x2000
	}
	bitmap := func(bits []byte, n uint64) {
		d.bitmapPages = n
		off := d.firstPage
		for pfn := uint64(0); pfn < n; pfn++ {
			if bits[pfn/8]>>(pfn%8)&1 != 0 {
				d.pages[pfn] = off
				off += 0x1000
				d.setBits++
			}
		}
	}
	switch d.typ {
	case 1:
		var n int
		var runsAt int
		if d.is64 {
			n, d.runPages, runsAt = int(u32(data, 0x88)), u64(data, 0x90), 0x98
		} else {
			n, d.runPages, runsAt = int(u32(data, 0x64)), u32(data, 0x68), 0x6C
		}
		off := hsize
		d.firstPage = hsize
		for i := range n {
			var base, count uint64
			if d.is64 {
				base, count = u64(data, runsAt+16*i), u64(data, runsAt+16*i+8)
			} else {
				base, count = u32(data, runsAt+8*i), u32(data, runsAt+8*i+4)
			}
			if n > 86 || count > uint64(len(data))/0x1000+0x100 {
				t.Fatalf("run %d: %d runs, %#x pages: not a plausible descriptor", i, n, count)
			}
			d.runs = append(d.runs, [2]uint64{base, count})
			for j := range count {
				d.pages[base+j] = off
				off += 0x1000
			}
		}
	case 2:
		s := data[hsize:]
		if string(s[:8]) != "SDMPDUMP" {
			t.Fatalf("summary sub-header %q", s[:8])
		}
		d.firstPage, d.bitmapPages, d.present = u32(s, 0xC), u32(s, 0x10), u32(s, 0x14)
		if d.bitmapPages > uint64(len(s)-0x28)*8 {
			t.Fatalf("bitmap of %#x bits in a %#x-byte file", d.bitmapPages, len(data))
		}
		if got := u32(s, 0x18); got != d.bitmapPages {
			t.Errorf("RTL_BITMAP.SizeOfBitMap %#x, BitmapSize %#x", got, d.bitmapPages)
		}
		at := 0x20
		if d.is64 {
			at = 0x28
		}
		bitmap(s[at:], d.bitmapPages)
	case 5, 6:
		s := data[hsize:]
		if sig := string(s[:8]); sig != "SDMPDUMP" && sig != "FDMPDUMP" {
			t.Fatalf("bitmap sub-header %q", sig)
		}
		d.firstPage, d.present = u64(s, 0x20), u64(s, 0x28)
		if n := u64(s, 0x30); n > uint64(len(s)-0x38)*8 {
			t.Fatalf("bitmap of %#x bits in a %#x-byte file", n, len(data))
		}
		bitmap(s[0x38:], u64(s, 0x30))
	case 8, 9, 10:
		s := data[0x2000:]
		if u32(s, 0) != 0x40 || string(s[4:12]) != "RDMPDUMP" {
			t.Fatalf("RDMP header %x", s[:12])
		}
		d.rdmpMetadata, d.firstPage = u64(s, 0x10), u64(s, 0x18)
		off := d.firstPage
		for i := uint64(0); i < d.rdmpMetadata/16; i++ {
			pfn, n := u64(s, 0x30+16*int(i)), u64(s, 0x38+16*int(i))
			if pfn == 0 {
				break
			}
			if n > uint64(len(data))/0x1000 {
				t.Fatalf("RDMP range %d: %#x pages in a %#x-byte file", i, n, len(data))
			}
			d.rdmpRanges = append(d.rdmpRanges, [2]uint64{pfn, n})
			for j := range n {
				d.pages[pfn+j] = off
				off += 0x1000
			}
		}
	case 4:
	default:
		t.Fatalf("DumpType %d", d.typ)
	}
	return d
}

// phys reads n bytes at physical address pa from the file.
func (d *dump) phys(pa uint64, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for len(out) < n {
		off, ok := d.pages[pa>>12]
		if !ok {
			return nil, fmt.Errorf("physical page %#x not stored", pa>>12)
		}
		k := min(n-len(out), int(0x1000-pa&0xFFF))
		start := off + pa&0xFFF
		if start+uint64(k) > uint64(len(d.data)) {
			return nil, fmt.Errorf("physical page %#x past the end of the file", pa>>12)
		}
		out = append(out, d.data[start:start+uint64(k)]...)
		pa += uint64(k)
	}
	return out, nil
}

func (d *dump) phys64(pa uint64) (uint64, error) {
	b, err := d.phys(pa, 8)
	if err != nil {
		return 0, err
	}
	return le.Uint64(b), nil
}

// walkResult is how a virtual address translated.
type walkResult struct {
	pa    uint64
	leaf  uint64 // the last entry read
	large bool
	trans bool // leaf in transition
	valid bool
}

// walk translates va by hand from the header DTB for arch.
func (d *dump) walk(arch dumpfile.Arch, va uint64) (walkResult, error) {
	switch arch {
	case dumpfile.ArchX86:
		pd := d.dtb &^ 0xFFF
		b, err := d.phys(pd+(va>>22)*4, 4)
		if err != nil {
			return walkResult{}, err
		}
		pde := uint64(le.Uint32(b))
		if pde&1 == 0 {
			return walkResult{leaf: pde}, nil
		}
		if pde&0x80 != 0 {
			pa := pde&0xFFC00000 | (pde>>13&0xF)<<32 | va&0x3FFFFF
			return walkResult{pa: pa, leaf: pde, large: true, valid: true}, nil
		}
		if b, err = d.phys(pde&0xFFFFF000+(va>>12&0x3FF)*4, 4); err != nil {
			return walkResult{}, err
		}
		pte := uint64(le.Uint32(b))
		return leafResult(pte, pte&0xFFFFF000, va), nil
	case dumpfile.ArchX86PAE:
		e, err := d.phys64(d.dtb&0xFFFFFFE0 + (va>>30&3)*8)
		if err != nil || e&1 == 0 {
			return walkResult{leaf: e}, err
		}
		if e, err = d.phys64(e&0xFFFFFFFFF000 + (va>>21&0x1FF)*8); err != nil || e&1 == 0 {
			return walkResult{leaf: e}, err
		}
		if e&0x80 != 0 {
			return walkResult{pa: e&0xFFFFFFE00000 | va&0x1FFFFF, leaf: e, large: true, valid: true}, nil
		}
		if e, err = d.phys64(e&0xFFFFFFFFF000 + (va>>12&0x1FF)*8); err != nil {
			return walkResult{}, err
		}
		return leafResult(e, e&0xFFFFFFFFF000, va), nil
	case dumpfile.ArchAMD64:
		base := d.dtb &^ 0xFFF
		for lvl, shift := range []uint{39, 30, 21, 12} {
			e, err := d.phys64(base + (va>>shift&0x1FF)*8)
			if err != nil {
				return walkResult{}, err
			}
			if lvl == 3 {
				pa := e & 0xFFFFFFFFF000
				if e&1 == 0 {
					pa &^= 1 << 45
				}
				return leafResult(e, pa, va), nil
			}
			if e&1 == 0 {
				return walkResult{leaf: e}, nil
			}
			if e&0x80 != 0 && lvl > 0 {
				size := uint64(1) << shift
				pa := e & 0xFFFFFFFFF000 &^ (size - 1) // drops the PAT bit 12
				return walkResult{pa: pa | va&(size-1), leaf: e, large: true, valid: true}, nil
			}
			base = e & 0xFFFFFFFFF000
		}
	case dumpfile.ArchARM64:
		base := d.dtb &^ 0xFFF
		for lvl, shift := range []uint{39, 30, 21, 12} {
			e, err := d.phys64(base + (va>>shift&0x1FF)*8)
			if err != nil {
				return walkResult{}, err
			}
			if lvl == 3 {
				return leafResult(e, e&0x0003FFFFFFFFF000, va), nil
			}
			if e&1 == 0 {
				return walkResult{leaf: e}, nil
			}
			if e&2 == 0 {
				size := uint64(1) << shift
				return walkResult{pa: e&0x0003FFFFFFFFF000&^(size-1) | va&(size-1), leaf: e, large: true, valid: true}, nil
			}
			base = e & 0x0003FFFFFFFFF000
		}
	}
	return walkResult{}, fmt.Errorf("arch %v", arch)
}

func leafResult(e, pa, va uint64) walkResult {
	r := walkResult{leaf: e}
	switch {
	case e&1 != 0:
		r.valid, r.pa = true, pa|va&0xFFF
	case e&0xC01 == 0x800:
		r.trans, r.pa = true, pa|va&0xFFF
	}
	return r
}

// virt reads n bytes of kernel memory at va through valid or transition
// leaves.
func (d *dump) virt(arch dumpfile.Arch, va uint64, n int) ([]byte, error) {
	var out []byte
	for len(out) < n {
		w, err := d.walk(arch, va)
		if err != nil {
			return nil, fmt.Errorf("va %#x: %v", va, err)
		}
		if !w.valid && !w.trans {
			return nil, fmt.Errorf("va %#x: not mapped (entry %#x)", va, w.leaf)
		}
		k := min(n-len(out), int(0x1000-va&0xFFF))
		b, err := d.phys(w.pa, k)
		if err != nil {
			return nil, fmt.Errorf("va %#x: %v", va, err)
		}
		out = append(out, b...)
		va += uint64(k)
	}
	return out, nil
}

// ptr reads a pointer-sized value at va.
func (d *dump) ptr(t testing.TB, arch dumpfile.Arch, va uint64) uint64 {
	t.Helper()
	if arch.Is64() {
		b, err := d.virt(arch, va, 8)
		if err != nil {
			t.Fatal(err)
		}
		return le.Uint64(b)
	}
	b, err := d.virt(arch, va, 4)
	if err != nil {
		t.Fatal(err)
	}
	return uint64(le.Uint32(b))
}

// decodeKDBG is the Windows 8+ decoding, written from the reference:
// q = rol64(q ^ N, N & 0xFF); q = bswap64(q ^ A); q ^= W.
func decodeKDBG(q, n, w, a uint64) uint64 {
	q = bits.RotateLeft64(q^n, int(n&0xFF))
	return bits.ReverseBytes64(q^a) ^ w
}

var allArchs = []dumpfile.Arch{dumpfile.ArchX86, dumpfile.ArchX86PAE, dumpfile.ArchAMD64, dumpfile.ArchARM64}
