package dumpfile_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/internal/realdata"
)

// realDumps is the real dumps' folder (see internal/realdata).
func realDumps(t testing.TB) string {
	t.Helper()
	return realdata.Path(t, "dumps")
}

// The facts in ../shared/realdata/dumps/README.md, read from the bytes.
func TestRealTriageDumps(t *testing.T) {
	dir := realDumps(t)
	tests := []struct {
		file      string
		arch      dumpfile.Arch
		build     uint32
		cpus      uint32
		bugcheck  uint32
		kdbg      uint64
		dtb       uint64
		kernBase  uint64
		psLoaded  uint64
		drivers   int
		firstMods []string
		kdbgSize  uint32
		noVirtual error // what a virtual read fails with
	}{
		{"triage_x64.dmp", dumpfile.ArchAMD64, 19041, 16, 0x1000007E, 0xfffff8047c600b20, 0x1ad000,
			0xfffff8047ba00000, 0xfffff8047c62a390, 151, []string{"ntoskrnl.exe", "hal.dll", "kd.dll", "CLFS.SYS"}, 0x380, dumpfile.ErrNoPhysicalMemory},
		{"triage_arm64.dmp", dumpfile.ArchARM64, 22000, 8, 0x1C8, 0xfffff803f3a00d00, 0x946aa000,
			0, 0, 245, []string{"ntoskrnl.exe", "hal.dll", "kd.dll"}, 0x380, dumpfile.ErrNoPhysicalMemory},
		// Windows 10 IoT Core on a Raspberry Pi 3: MachineImageType 0x1C4
		// (ARMNT) in a 32-bit header.
		{"triage_arm32_rpi3.dmp", dumpfile.ArchARM32, 17134, 4, 0, 0x80deec58, 0x7200000,
			0x80c06000, 0x80e16d78, 136, []string{"ntoskrnl.exe", "hal.dll", "kdcom.dll"}, 0x368, dumpfile.ErrNoPhysicalMemory},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := dumpfile.Open(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Arch() != tt.arch || f.MinorVersion != tt.build || f.NumberProcessors != tt.cpus ||
				f.BugCheckCode != tt.bugcheck || f.KdDebuggerDataBlock != tt.kdbg || f.DTB() != tt.dtb {
				t.Errorf("got arch %v build %d cpus %d bugcheck %#x kdbg %#x dtb %#x", f.Arch(), f.MinorVersion,
					f.NumberProcessors, f.BugCheckCode, f.KdDebuggerDataBlock, f.DTB())
			}
			if f.DumpType != dumpfile.TypeTriage || f.Triage == nil {
				t.Fatalf("DumpType %v, want triage with a triage block", f.DumpType)
			}
			k, err := f.KDBG()
			if err != nil {
				t.Fatal(err)
			}
			if k.Source != "triage copy" || k.Size != tt.kdbgSize {
				t.Errorf("KDBG source %q size %#x", k.Source, k.Size)
			}
			if tt.file == "triage_x64.dmp" && k.PoolTrackTable() != 0xfffff8047c6168a8 {
				t.Errorf("KDBG PoolTrackTable %#x", k.PoolTrackTable())
			}
			if tt.kernBase != 0 && (k.KernBase() != tt.kernBase || k.PsLoadedModuleList() != tt.psLoaded) {
				t.Errorf("KDBG KernBase %#x PsLoadedModuleList %#x", k.KernBase(), k.PsLoadedModuleList())
			}
			mods, err := f.Modules()
			if err != nil || len(mods) != tt.drivers {
				t.Fatalf("%d modules, err %v; want %d", len(mods), err, tt.drivers)
			}
			for i, name := range tt.firstMods {
				if mods[i].Name != name {
					t.Errorf("module %d = %q, want %q", i, mods[i].Name, name)
				}
			}
			if tt.kernBase != 0 && mods[0].Base != tt.kernBase {
				t.Errorf("ntoskrnl base %#x", mods[0].Base)
			}
			if tt.file == "triage_x64.dmp" && (mods[0].CheckSum != 0xa5938c || mods[0].Size != 0x1046000) {
				t.Errorf("ntoskrnl CheckSum %#x SizeOfImage %#x", mods[0].CheckSum, mods[0].Size)
			}
			stamped := 0
			for _, m := range mods {
				if m.TimeDateStamp != 0 {
					stamped++
				}
			}
			if stamped < len(mods)*9/10 {
				t.Errorf("only %d of %d drivers have a TimeDateStamp", stamped, len(mods))
			}
			if f.PresentPages() != 0 {
				t.Errorf("triage dump has %d pages", f.PresentPages())
			}
			if _, err := f.ReadVirtual(tt.kdbg, make([]byte, 8)); !errors.Is(err, tt.noVirtual) {
				t.Errorf("virtual read: %v, want %v", err, tt.noVirtual)
			}
			if tt.file == "triage_arm32_rpi3.dmp" && (mods[0].CheckSum != 0x55bcd7 || mods[0].TimeDateStamp != 0x5acd88b6 || mods[0].Size != 0x5b1000) {
				t.Errorf("ntoskrnl CheckSum %#x TimeDateStamp %#x SizeOfImage %#x", mods[0].CheckSum, mods[0].TimeDateStamp, mods[0].Size)
			}
			if !hasWarning(f, "no physical memory pages, so no pool data") {
				t.Errorf("warnings %q lack the no-pool statement", f.Warnings)
			}
		})
	}
}

func hasWarning(f *dumpfile.File, s string) bool {
	for _, w := range f.Warnings {
		if strings.Contains(w, s) {
			return true
		}
	}
	return false
}
