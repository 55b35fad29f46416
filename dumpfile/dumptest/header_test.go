package dumptest_test

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// Header field offsets straight from the reference table.
type hdrOffsets struct {
	ptr                                                   int
	dtb, pfn, psl, psa, machine, cpus, bug, params, kdbg  int
	comment, dumpType, required, sysTime, upTime, product int
	attributes                                            int
	unused                                                int // a field the generator never sets: keeps PAGE
}

var (
	off32 = hdrOffsets{4, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x2C, 0x60,
		0x820, 0xF88, 0xFA0, 0xFC0, 0xFB8, 0xF94, 0x8A0, 0x3C}
	off64 = hdrOffsets{8, 0x10, 0x18, 0x20, 0x28, 0x30, 0x34, 0x38, 0x40, 0x80,
		0xFB0, 0xF98, 0xFA0, 0xFA8, 0x1030, 0x1040, 0x1050, 0x60}
)

func TestHeaderFields(t *testing.T) {
	when := time.Date(2024, 3, 5, 10, 20, 30, 400, time.UTC)
	const filetime = 133541076300000004 // 2024-03-05 10:20:30.0000004 UTC in 100 ns since 1601
	tests := []struct {
		arch    dumpfile.Arch
		typ     dumpfile.DumpType
		machine uint64
		build   uint32
	}{
		{dumpfile.ArchX86, dumpfile.TypeFull, 0x14C, 2600},
		{dumpfile.ArchX86PAE, dumpfile.TypeSummary, 0x14C, 7601},
		{dumpfile.ArchX86, dumpfile.TypeBitmapFull, 0x14C, 7601},
		{dumpfile.ArchAMD64, dumpfile.TypeBitmapFull, 0x8664, 19041},
		{dumpfile.ArchAMD64, dumpfile.TypeFull, 0x8664, 9600},
		{dumpfile.ArchAMD64, dumpfile.TypeRDMPFull, 0x8664, 22621},
		{dumpfile.ArchARM64, dumpfile.TypeBitmapKernel, 0xAA64, 22000},
		{dumpfile.ArchAMD64, dumpfile.TypeTriage, 0x8664, 19041},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/type%d", tt.arch, tt.typ), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{
				Arch: tt.arch, Build: tt.build, CPUs: 6, Type: tt.typ,
				BugCheck: 0xC2, BugCheckParams: [4]uint64{7, 0x1234, 0x80000000ABCD, 0xFFFFF80000001000},
				SystemTime: when, Uptime: 90 * time.Minute, Comment: "leak repro",
				ProductType: 3, Attributes: 0x4, DTBFlags: 0x2, Seed: 7,
			})
			data := build(t, b)
			o := off32
			if tt.arch.Is64() {
				o = off64
			}
			ptr := func(off int) uint64 {
				if o.ptr == 4 {
					return u32(data, off)
				}
				return u64(data, off)
			}
			psl, _ := b.Symbol("PsLoadedModuleList")
			psa, _ := b.Symbol("PsActiveProcessHead")
			mask := uint64(1)<<(8*o.ptr) - 1
			checks := []struct {
				name      string
				got, want uint64
			}{
				{"MajorVersion", u32(data, 8), 0xF},
				{"MinorVersion", u32(data, 0xC), uint64(tt.build)},
				{"DirectoryTableBase", ptr(o.dtb), b.DTB()},
				{"DTB flags", ptr(o.dtb) & 0xFFF & 0x1F, 0x2},
				{"PfnDataBase non-zero", min(ptr(o.pfn), 1), 1},
				{"PsLoadedModuleList", ptr(o.psl), psl},
				{"PsActiveProcessHead", ptr(o.psa), psa},
				{"MachineImageType", u32(data, o.machine), tt.machine},
				{"NumberProcessors", u32(data, o.cpus), 6},
				{"BugCheckCode", u32(data, o.bug), 0xC2},
				{"BugCheckParameter1", ptr(o.params), 7},
				{"BugCheckParameter3", ptr(o.params + 2*o.ptr), 0x80000000ABCD & mask},
				{"BugCheckParameter4", ptr(o.params + 3*o.ptr), 0xFFFFF80000001000 & mask},
				{"KdDebuggerDataBlock", ptr(o.kdbg), b.KDBGAddress()},
				{"DumpType", u32(data, o.dumpType), uint64(tt.typ)},
				{"RequiredDumpSpace", u64(data, o.required), uint64(len(data))},
				{"SystemTime", u64(data, o.sysTime), filetime},
				{"SystemUpTime", u64(data, o.upTime), uint64(90 * 60 * 10_000_000)},
				{"ProductType", u32(data, o.product), 3},
				{"Attributes", u32(data, o.attributes), 4},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
				}
			}
			if got := string(data[o.comment : o.comment+11]); got != "leak repro\x00" {
				t.Errorf("Comment = %q", got)
			}
			if got := string(data[o.unused : o.unused+4]); got != "PAGE" {
				t.Errorf("unset field at %#x = %q, want the PAGE pattern", o.unused, got)
			}
			if !tt.arch.Is64() {
				want := byte(0)
				if tt.arch == dumpfile.ArchX86PAE {
					want = 1
				}
				if data[0x5C] != want {
					t.Errorf("PaeEnabled = %d, want %d", data[0x5C], want)
				}
			}
		})
	}
}

func TestHeaderLA57(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, LA57: true, Seed: 3})
	data := build(t, b)
	psl, _ := b.Symbol("PsLoadedModuleList")
	for _, f := range []struct {
		name string
		off  int
		va   uint64
	}{{"PsLoadedModuleList", 0x20, psl}, {"KdDebuggerDataBlock", 0x80, b.KDBGAddress()}} {
		got := u64(data, f.off)
		canon57 := got>>56 == 0xFF || got>>56 == 0
		canon48 := got>>47 == 0x1FFFF || got>>47 == 0
		if !canon57 || canon48 {
			t.Errorf("%s = %#x: want 57-bit canonical and not 48-bit canonical", f.name, got)
		}
		if got&0xFFFFFFFFFFFF != f.va&0xFFFFFFFFFFFF {
			t.Errorf("%s = %#x: low 48 bits differ from %#x", f.name, got, f.va)
		}
	}
	// The rest is a normal dump.
	d := parse(t, data)
	if _, err := d.virt(dumpfile.ArchAMD64, b.KDBGAddress(), 0x20); err != nil {
		t.Errorf("KDBG not readable through the page tables: %v", err)
	}
}

func TestPAEDirectoryTableBase(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchX86PAE, Seed: seed, DTBFlags: 0x18})
		dtb := b.DTB()
		if dtb&0xFE0 == 0 {
			t.Errorf("seed %d: PDPT at %#x is page aligned; PAE readers must use bits 31:5", seed, dtb)
		}
		if dtb&0x1F != 0x18 {
			t.Errorf("seed %d: DTB %#x lost the flags", seed, dtb)
		}
		d := parse(t, build(t, b))
		got, err := d.virt(dumpfile.ArchX86PAE, b.KernBase(), 2)
		if err != nil || string(got) != "MZ" {
			t.Errorf("seed %d: kernel header through PDPT %#x: %q, %v", seed, dtb&^0x1F, got, err)
		}
	}
}

func TestDeterminism(t *testing.T) {
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, EncodeKDBG: true, PlainKDBGCopy: true, Seed: 42}
	gen := func(c dumptest.Config) []byte {
		b := dumptest.New(c)
		b.AddModule(dumptest.Module{Name: "leaky.sys", Size: 0x6000, TimeDateStamp: 0x5F000000})
		va := b.Alloc(0x30, 16)
		b.Write(va, []byte("Leak"))
		b.MapLarge(0xFFFFE00000000000, 2<<20)
		b.PutU32(0xFFFFE00000001000, 0xDEADBEEF)
		b.MapPagedOut(0xFFFFE00000400000)
		return build(t, b)
	}
	first, second := gen(cfg), gen(cfg)
	if !bytes.Equal(first, second) {
		t.Fatal("same Config gave different bytes")
	}
	cfg.Seed = 43
	if bytes.Equal(first, gen(cfg)) {
		t.Fatal("different Seed gave the same bytes")
	}
}

func TestKDBGSizeByBuild(t *testing.T) {
	for _, tt := range []struct {
		build uint32
		size  uint64
	}{{2600, 0x290}, {3790, 0x318}, {7601, 0x340}, {9200, 0x360}, {18362, 0x360}, {19041, 0x380}, {22631, 0x380}} {
		b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: tt.build})
		d := parse(t, build(t, b))
		got, err := d.virt(dumpfile.ArchAMD64, b.KDBGAddress()+0x10, 8)
		if err != nil {
			t.Fatal(err)
		}
		if string(got[:4]) != "KDBG" || u32(got, 4) != tt.size {
			t.Errorf("build %d: tag %q size %#x, want KDBG %#x", tt.build, got[:4], u32(got, 4), tt.size)
		}
	}
}
