package dumptest_test

import (
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"

	"github.com/poolblame/poolblame/internal/realdata"
)

// triage is what readTriage finds, with the offsets established from
// mindumpdef.h / rizin's TRIAGE_DUMP64 and checked on the real file.
type triage struct {
	kdbgOff, kdbgSize uint64
	listOff, count    uint64
	poolOff, poolSize uint64
	sizeOfDump, valid uint64
	names             []string
	bases, sizes      []uint64
	checkSums, stamps []uint64
}

type triageOffsets struct {
	at, kdbgOff, kdbgSize, stride, dllBase, sizeOfImage, checkSum, stamp int
}

var (
	triage64 = triageOffsets{0x2000, 0x70, 0x74, 0x90, 0x38, 0x48, 0x80, 0x88}
	triage32 = triageOffsets{0x1000, 0x58, 0x5C, 0x4C, 0x1C, 0x24, 0x44, 0x48}
)

func readTriage(t *testing.T, data []byte, o triageOffsets) triage {
	t.Helper()
	tb := data[o.at:]
	r := triage{
		sizeOfDump: u32(tb, 0x04), valid: u32(tb, 0x08),
		listOff: u32(tb, 0x30), count: u32(tb, 0x34), poolOff: u32(tb, 0x38), poolSize: u32(tb, 0x3C),
		kdbgOff: u32(tb, o.kdbgOff), kdbgSize: u32(tb, o.kdbgSize),
	}
	for i := range int(r.count) {
		e := data[int(r.listOff)+i*o.stride:]
		s := int(u32(e, 0))
		n := int(u32(data, s)) // characters
		u := make([]uint16, n)
		for j := range u {
			u[j] = le.Uint16(data[s+4+2*j:])
		}
		if le.Uint16(data[s+4+2*n:]) != 0 {
			t.Errorf("driver %d: name not NUL-terminated", i)
		}
		r.names = append(r.names, string(utf16.Decode(u)))
		if o.stride == 0x90 {
			r.bases = append(r.bases, u64(e, o.dllBase))
		} else {
			r.bases = append(r.bases, u32(e, o.dllBase))
		}
		r.sizes = append(r.sizes, u32(e, o.sizeOfImage))
		r.checkSums = append(r.checkSums, u32(e, o.checkSum))
		r.stamps = append(r.stamps, u32(e, o.stamp))
	}
	return r
}

func baseName(p string) string { return p[strings.LastIndexByte(p, '\\')+1:] }

// TestTriageRealFile pins the layout on the real Windows triage dumps.
func TestTriageRealFile(t *testing.T) {
	tests := []struct {
		file           string
		kdbgOff, count uint64
		first          map[int]string
		kernelSize     uint64
	}{
		// The README lists ntoskrnl.exe, hal.dll, kd.dll, CLFS.SYS,
		// FLTMGR.SYS; in the file FLTMGR.SYS is the eighth, after tm.sys,
		// PSHED.dll and BOOTVID.dll.
		{"triage_x64.dmp", 0x104A8, 151,
			map[int]string{0: "ntoskrnl.exe", 1: "hal.dll", 2: "kd.dll", 3: "CLFS.SYS", 7: "FLTMGR.SYS"}, 0x1046000},
		{"triage_arm64.dmp", 0xDAB0, 245, map[int]string{0: "ntoskrnl.exe", 1: "hal.dll", 2: "kd.dll"}, 0x103E000},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := realdata.Read(t, "dumps/"+tt.file)
			r := readTriage(t, data, triage64)
			// The README gives the offset of the 'KDBG' tag, block + 0x10.
			if r.kdbgOff != tt.kdbgOff || string(data[r.kdbgOff+0x10:r.kdbgOff+0x14]) != "KDBG" || r.kdbgSize != 0x380 {
				t.Errorf("KDBG copy at %#x size %#x tag %q", r.kdbgOff, r.kdbgSize, data[r.kdbgOff+0x10:r.kdbgOff+0x14])
			}
			if got := u64(data, int(r.kdbgOff)+0x18); r.bases[0] != got {
				t.Errorf("ntoskrnl DllBase %#x, KDBG KernBase %#x", r.bases[0], got)
			}
			if r.count != tt.count {
				t.Errorf("%d drivers, want %d", r.count, tt.count)
			}
			for i, w := range tt.first {
				if i >= len(r.names) || baseName(r.names[i]) != w {
					t.Errorf("driver %d = %q, want %s", i, r.names[i], w)
				}
			}
			if r.names[0] != `\SystemRoot\system32\ntoskrnl.exe` || r.sizes[0] != tt.kernelSize {
				t.Errorf("driver 0 = %q size %#x", r.names[0], r.sizes[0])
			}
			if r.poolOff != r.listOff+r.count*0x90 {
				t.Errorf("string pool at %#x, driver list ends at %#x", r.poolOff, r.listOff+r.count*0x90)
			}
			if string(data[r.valid:r.valid+4]) != "TRGD" || r.valid != r.sizeOfDump-4 {
				t.Errorf("ValidOffset %#x SizeOfDump %#x", r.valid, r.sizeOfDump)
			}
		})
	}
}

// TestTriageGenerated reads a generated triage dump with the same reader
// and offsets.
func TestTriageGenerated(t *testing.T) {
	for _, tt := range []struct {
		arch dumpfile.Arch
		o    triageOffsets
	}{{dumpfile.ArchAMD64, triage64}, {dumpfile.ArchARM64, triage64}, {dumpfile.ArchX86, triage32}} {
		t.Run(tt.arch.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: tt.arch, Type: dumpfile.TypeTriage, Seed: 1})
			for _, n := range []string{"hal.dll", "kd.dll", "CLFS.SYS", "FLTMGR.SYS"} {
				b.AddModule(dumptest.Module{Name: n, Size: 0x6000, CheckSum: 0xCE9F, TimeDateStamp: 0x1A7BE8E9})
			}
			data := build(t, b)
			d := parse(t, data)
			if len(d.pages) != 0 || d.typ != 4 {
				t.Fatalf("type %d with %d pages", d.typ, len(d.pages))
			}
			r := readTriage(t, data, tt.o)
			if int(r.kdbgSize) != dumptest.KDBGSizeFor(b.Config().Build) || string(data[r.kdbgOff+0x10:r.kdbgOff+0x14]) != "KDBG" {
				t.Errorf("KDBG copy at %#x size %#x", r.kdbgOff, r.kdbgSize)
			}
			want := []string{"ntoskrnl.exe", "hal.dll", "kd.dll", "CLFS.SYS", "FLTMGR.SYS"}
			if int(r.count) != len(want) {
				t.Fatalf("%d drivers, want %d", r.count, len(want))
			}
			for i, w := range want {
				if baseName(r.names[i]) != w || !strings.HasPrefix(r.names[i], `\SystemRoot\`) {
					t.Errorf("driver %d = %q, want a full path to %s", i, r.names[i], w)
				}
			}
			if r.bases[0] != b.KernBase() {
				t.Errorf("driver 0 base %#x, KernBase %#x", r.bases[0], b.KernBase())
			}
			if r.sizes[1] != 0x6000 || r.checkSums[1] != 0xCE9F || r.stamps[1] != 0x1A7BE8E9 {
				t.Errorf("hal.dll size %#x checksum %#x stamp %#x", r.sizes[1], r.checkSums[1], r.stamps[1])
			}
			// Strings are 8-byte aligned, so the pool starts at the list's
			// end rounded up to 8 (the same thing for 0x90-byte entries).
			if end := r.listOff + r.count*uint64(tt.o.stride); r.poolOff != (end+7)&^7 {
				t.Errorf("string pool at %#x, driver list ends at %#x", r.poolOff, end)
			}
			if string(data[r.valid:r.valid+4]) != "TRGD" || r.valid != r.sizeOfDump-4 || r.sizeOfDump != uint64(len(data)) {
				t.Errorf("ValidOffset %#x SizeOfDump %#x file %#x", r.valid, r.sizeOfDump, len(data))
			}
		})
	}
}
