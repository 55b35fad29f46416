package pe

import (
	"bytes"
	debugpe "debug/pe"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// kernelPoolExports are the pool routines the test kernel exports; it
// also exports the tagless ExAllocatePool.
var kernelPoolExports = []string{"ExAllocatePoolWithTag", "ExFreePoolWithTag", "ExAllocatePool2", "ExAllocatePoolWithQuotaTag"}

func kernelName(arch dumpfile.Arch) string {
	if arch == dumpfile.ArchX86PAE {
		return "ntkrnlpa.exe"
	}
	return "ntoskrnl.exe"
}

func TestNewKernelExports(t *testing.T) {
	for _, arch := range []dumpfile.Arch{dumpfile.ArchX86, dumpfile.ArchX86PAE, dumpfile.ArchAMD64, dumpfile.ArchARM64} {
		t.Run(arch.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: arch})
			b.AddModule(dumptest.Module{Name: "ndis.sys", Exports: []string{"NdisGetVersion", "NdisAllocateMemoryWithTag"}})
			f, list := writeDump(t, b)
			k, err := NewKernelExports(f, list)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"ndis.sys!NdisAllocateMemoryWithTag": "ndis.sys"}
			for _, n := range kernelPoolExports {
				want[kernelName(arch)+"!"+n] = "ntoskrnl.exe"
			}
			if k.Len() != len(want) || len(k.Notes) != 0 {
				t.Errorf("%d addresses, notes %q; want %d, none", k.Len(), k.Notes, len(want))
			}
			for full, mod := range want {
				name := full[strings.IndexByte(full, '!')+1:]
				va, ok := b.Export(mod, name)
				if !ok {
					t.Fatalf("the builder has no %s", full)
				}
				if got, ok := k.Lookup(va); !ok || got != full {
					t.Errorf("Lookup(%#x) = %q, %v; want %q", va, got, ok, full)
				}
				if got, ok := k.Lookup(va + 1); ok {
					t.Errorf("Lookup(%#x), inside %s, = %q", va+1, full, got)
				}
			}
			// Exported, but not pool routines that take a tag.
			for _, e := range [][2]string{{"ntoskrnl.exe", "ExAllocatePool"}, {"ndis.sys", "NdisGetVersion"}} {
				va, _ := b.Export(e[0], e[1])
				if got, ok := k.Lookup(va); ok {
					t.Errorf("%s!%s at %#x is named %q", e[0], e[1], va, got)
				}
			}
		})
	}
}

func TestNewKernelExportsPartial(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64})
	// fltmgr.sys's export page (its first .text page) is paged out.
	b.AddModule(dumptest.Module{Name: "fltmgr.sys", Exports: []string{"FltAllocatePoolAlignedWithTag"}, PagedOut: []int{1}})
	// bad.sys's export directory entry claims 2 GiB.
	bad := b.AddModule(dumptest.Module{Name: "bad.sys", Exports: []string{"ExFreePool2"}})
	const exportDirSize = 0x80 + 24 + 112 + 4 // PE32+ data directory 0, Size
	b.PutU32(bad+exportDirSize, 0x7FFFFFFF)
	// Export directories of generated modules start at RVA 0x1200.
	huge := b.AddModule(dumptest.Module{Name: "huge.sys", Exports: []string{"ExFreePool2"}})
	b.PutU32(huge+0x1200+24, 0x7FFFFFFF) // NumberOfNames
	lost := b.AddModule(dumptest.Module{Name: "lost.sys", Exports: []string{"ExFreePool2"}})
	b.PutU32(lost+0x1200+32, 0x7FFF0000)            // AddressOfNames, far outside the image
	b.AddModule(dumptest.Module{Name: "plain.sys"}) // exports nothing
	f, list := writeDump(t, b)
	k, err := NewKernelExports(f, list)
	if err != nil {
		t.Fatal(err)
	}
	if k.Len() != len(kernelPoolExports) {
		t.Errorf("%d addresses, want the kernel's %d", k.Len(), len(kernelPoolExports))
	}
	notes := strings.Join(k.Notes, "\n")
	for _, want := range []string{
		"fltmgr.sys: export directory not read: dump module fltmgr.sys: export data at RVA 0x1200",
		"bad.sys: export directory not read: dump module bad.sys: bad PE image: export directory entry",
		"huge.sys: export directory not read: dump module huge.sys: bad PE image: export directory NumberOfNames at offset 0x1218: 2147483647 names",
		"lost.sys: export directory not read: dump module lost.sys: export data at RVA 0x7fff0000",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q, want one with %q", notes, want)
		}
	}
	if len(k.Notes) != 4 {
		t.Errorf("%d notes, want 4 (plain.sys exports nothing, which is no news)", len(k.Notes))
	}

	if _, err := NewKernelExports(f, nil); err == nil || !strings.Contains(err.Error(), "module list is empty") {
		t.Errorf("no modules: error %v", err)
	}
	tb := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeTriage})
	tb.AddModule(dumptest.Module{Name: "a.sys"})
	tf, tlist := writeDump(t, tb)
	if _, err := NewKernelExports(tf, tlist); err == nil || !strings.Contains(err.Error(), "no physical memory") {
		t.Errorf("triage dump: error %v", err)
	}
}

// iatOf returns the IAT directory of a driver file and where its entry
// lies in the header.
func iatOf(t testing.TB, img []byte) (rva, size uint32, entry uint64, ptr int) {
	t.Helper()
	f, err := debugpe.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	opt := uint64(binary.LittleEndian.Uint32(img[0x3C:])) + 24
	switch oh := f.OptionalHeader.(type) {
	case *debugpe.OptionalHeader32:
		d := oh.DataDirectory[debugpe.IMAGE_DIRECTORY_ENTRY_IAT]
		return d.VirtualAddress, d.Size, opt + 96 + 8*debugpe.IMAGE_DIRECTORY_ENTRY_IAT, 4
	case *debugpe.OptionalHeader64:
		d := oh.DataDirectory[debugpe.IMAGE_DIRECTORY_ENTRY_IAT]
		return d.VirtualAddress, d.Size, opt + 112 + 8*debugpe.IMAGE_DIRECTORY_ENTRY_IAT, 8
	}
	t.Fatal("no optional header")
	return
}

// TestScanLoadedDiscarded loads the synthetic drivers the way Windows
// leaves them after DriverEntry: import names gone, IAT slots bound to
// the kernel's exports. Through the dump's export tables the scan finds
// the same call sites as in the file; without them, immediates only; a
// slot holding anything but a pool routine gives nothing.
func TestScanLoadedDiscarded(t *testing.T) {
	const (
		same = iota // call sites as in the file
		none        // immediates only
	)
	files := map[dumpfile.Arch]string{
		dumpfile.ArchX86: "contoso_x86.sys", dumpfile.ArchX86PAE: "contoso_x86.sys",
		dumpfile.ArchAMD64: "contoso_x64.sys", dumpfile.ArchARM64: "contoso_arm64.sys",
	}
	// Edits of the loaded image, after the loader bound it.
	noIATDir := func(b *dumptest.Builder, base uint64, img []byte) {
		_, _, entry, _ := iatOf(t, img)
		b.PutU64(base+entry, 0)
	}
	decoy := func(b *dumptest.Builder, base uint64, img []byte) {
		rva, _, _, ptr := iatOf(t, img)
		tagless, _ := b.Export("ntoskrnl.exe", "ExAllocatePool")
		alloc, _ := b.Export("ntoskrnl.exe", "ExAllocatePoolWithTag")
		b.PutPtr(base+uint64(rva), tagless)                 // a kernel export that takes no tag
		b.PutPtr(base+uint64(rva)+uint64(ptr), alloc+0x100) // kernel code, no export
	}
	tests := []struct {
		name    string
		arch    dumpfile.Arch
		discard bool
		exports bool
		edit    func(b *dumptest.Builder, base uint64, img []byte)
		want    int
		warning string
	}{
		{"x64", dumpfile.ArchAMD64, true, true, nil, same, ""},
		{"x86", dumpfile.ArchX86, true, true, nil, same, ""},
		{"x86 PAE", dumpfile.ArchX86PAE, true, true, nil, same, ""},
		{"arm64", dumpfile.ArchARM64, true, true, nil, same, ""},
		{"x64 without exports", dumpfile.ArchAMD64, true, false, nil, none, "no export tables to name its IAT slots"},
		{"x86 without exports", dumpfile.ArchX86PAE, true, false, nil, none, "no export tables to name its IAT slots"},
		{"arm64 without exports", dumpfile.ArchARM64, true, false, nil, none, "no export tables to name its IAT slots"},
		{"x64 imports kept", dumpfile.ArchAMD64, false, true, nil, same, ""},
		{"x64 imports kept, no exports", dumpfile.ArchAMD64, false, false, nil, same, ""},
		{"x64 no IAT directory", dumpfile.ArchAMD64, true, true, noIATDir, same, ""},
		{"x86 no IAT directory", dumpfile.ArchX86, true, true, noIATDir, same, ""},
		{"arm64 no IAT directory", dumpfile.ArchARM64, true, true, noIATDir, same, ""},
		{"x64 decoy slots", dumpfile.ArchAMD64, true, true, decoy, none, "no IAT slot holds a pool routine"},
		{"x86 decoy slots", dumpfile.ArchX86PAE, true, true, decoy, none, "no IAT slot holds a pool routine"},
		{"arm64 decoy slots", dumpfile.ArchARM64, true, true, decoy, none, "no IAT slot holds a pool routine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := files[tt.arch]
			img := fixture(t, file)
			fd, err := ScanBytes(file, img, FileLayout)
			if err != nil {
				t.Fatal(err)
			}
			b := dumptest.New(dumptest.Config{Arch: tt.arch})
			base := b.AddModule(dumptest.Module{Name: file, Image: img, DiscardImports: tt.discard})
			if tt.edit != nil {
				tt.edit(b, base, img)
			}
			f, list := writeDump(t, b)
			var k *KernelExports
			if tt.exports {
				if k, err = NewKernelExports(f, list); err != nil {
					t.Fatal(err)
				}
			}
			d, _, err := ScanLoadedWith(f, module(t, list, file), k)
			if err != nil {
				t.Fatal(err)
			}
			tags := append(fd.Tags(), fd.WeakTags()...)
			if n := slices.IndexFunc(tags, func(u TagUse) bool { return u.CallSites > 0 }); n < 0 || len(tags) < 5 {
				t.Fatalf("file %s: tags %v, want call sites to compare with", file, tags)
			}
			for _, u := range tags {
				e := d.Evidence(u.Tag)
				want := u.Evidence
				if tt.want == none {
					want.CallSites, want.Wrapped, want.Routines = 0, 0, nil
				}
				if e.CallSites != want.CallSites || e.Wrapped != want.Wrapped || e.Immediates != want.Immediates ||
					!slices.Equal(e.Routines, want.Routines) || e.Protected != want.Protected {
					t.Errorf("%s: in the dump %+v, want %+v", u.TagString(), e, want)
				}
			}
			if got := strings.Join(d.Warnings, "; "); tt.warning == "" && got != "" || !strings.Contains(got, tt.warning) {
				t.Errorf("warnings %q, want %q", got, tt.warning)
			}
		})
	}
}

// TestScanLoadedWithRealDrivers loads real drivers with their imports
// discarded. Every tag passed to a routine the test kernel exports gets
// the call sites the file scan finds; tags passed only to routines it
// does not export (the lookaside initialisers) get none.
func TestScanLoadedWithRealDrivers(t *testing.T) {
	needRealDrivers(t)
	exported := map[string]bool{}
	for _, n := range kernelPoolExports {
		exported[n] = true
	}
	for _, tt := range []struct {
		file string
		arch dumpfile.Arch
		tag  string // one tag that must get call sites
	}{
		{"winpmem_x64.sys", dumpfile.ArchAMD64, "PMEM"},
		{"winpmem_x86.sys", dumpfile.ArchX86PAE, "PMEM"},
		{"systeminformer_amd64.sys", dumpfile.ArchAMD64, "KpU2"},
		{"systeminformer_arm64.sys", dumpfile.ArchARM64, "Kpc0"},
	} {
		t.Run(tt.file, func(t *testing.T) {
			img, err := os.ReadFile(filepath.Join(realDrivers, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			fd, err := ScanBytes(tt.file, img, FileLayout)
			if err != nil {
				t.Fatal(err)
			}
			b := dumptest.New(dumptest.Config{Arch: tt.arch})
			b.AddModule(dumptest.Module{Name: tt.file, Image: img, DiscardImports: true})
			f, list := writeDump(t, b)
			k, err := NewKernelExports(f, list)
			if err != nil {
				t.Fatal(err)
			}
			m := module(t, list, tt.file)
			with, _, err := ScanLoadedWith(f, m, k)
			if err != nil {
				t.Fatal(err)
			}
			without, _, err := ScanLoaded(f, m)
			if err != nil {
				t.Fatal(err)
			}
			compared := 0
			for _, u := range fd.Tags() {
				if u.CallSites == 0 {
					continue
				}
				e := with.Evidence(u.Tag)
				all := true
				for _, r := range u.Routines {
					all = all && exported[r]
				}
				switch {
				case all:
					compared++
					if e.CallSites != u.CallSites || e.Wrapped != u.Wrapped || !slices.Equal(e.Routines, u.Routines) {
						t.Errorf("%s: in the dump %d call sites (%d wrapped) in %v, file %d (%d) in %v",
							u.TagString(), e.CallSites, e.Wrapped, e.Routines, u.CallSites, u.Wrapped, u.Routines)
					}
				case e.CallSites > u.CallSites:
					t.Errorf("%s: %d call sites in the dump, more than the file's %d", u.TagString(), e.CallSites, u.CallSites)
				}
				if n := without.Evidence(u.Tag).CallSites; n != 0 {
					t.Errorf("%s: %d call sites without export tables", u.TagString(), n)
				}
			}
			if e := with.Evidence(tagValue(tt.tag)); e.CallSites == 0 || compared == 0 {
				t.Errorf("%s: %+v; %d tags compared", tt.tag, e, compared)
			}
		})
	}
}

// BenchmarkScanLoadedWith reads systeminformer_amd64.sys, imports
// discarded, from a dump that also holds 60 other modules: building the
// export map once, then scanning the image with and without it.
func BenchmarkScanLoadedWith(b *testing.B) {
	needRealDrivers(b)
	const file = "systeminformer_amd64.sys"
	img, err := os.ReadFile(filepath.Join(realDrivers, file))
	if err != nil {
		b.Fatal(err)
	}
	db := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64})
	for i := 0; i < 60; i++ {
		db.AddModule(dumptest.Module{Name: "mod" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + ".sys"})
	}
	db.AddModule(dumptest.Module{Name: file, Image: img, DiscardImports: true})
	f, list := writeDump(b, db)
	m := module(b, list, file)
	k, err := NewKernelExports(f, list)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("NewKernelExports", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewKernelExports(f, list); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, c := range []struct {
		name string
		k    *KernelExports
	}{{"ScanLoaded", nil}, {"ScanLoadedWith", k}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := ScanLoadedWith(f, m, c.k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSampleDumps checks the committed sample dumps look like real ones:
// their drivers' import names are gone, so only the export tables give
// call-site evidence.
func TestSampleDumps(t *testing.T) {
	for _, tt := range []struct {
		dump, module string
		tags         []string
	}{
		{"win2003-x86-isil.dmp", "isil.sys", []string{"ISil", "I100"}},
		{"win11-x64-ctfl.dmp", "contosoflt.sys", []string{"CtFl", "CtFn"}},
	} {
		t.Run(tt.dump, func(t *testing.T) {
			f, err := dumpfile.Open(filepath.Join("..", "testdata", tt.dump))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			list, err := f.Modules()
			if err != nil {
				t.Fatal(err)
			}
			k, err := NewKernelExports(f, list)
			if err != nil {
				t.Fatal(err)
			}
			if k.Len() != len(kernelPoolExports) || len(k.Notes) != 0 {
				t.Fatalf("exports: %d, notes %q", k.Len(), k.Notes)
			}
			m := module(t, list, tt.module)
			with, _, err := ScanLoadedWith(f, m, k)
			if err != nil {
				t.Fatal(err)
			}
			without, _, err := ScanLoaded(f, m)
			if err != nil {
				t.Fatal(err)
			}
			for _, tag := range tt.tags {
				w, wo := with.Evidence(tagValue(tag)), without.Evidence(tagValue(tag))
				if w.CallSites != 2 || wo.CallSites != 0 || wo.Immediates != 2 {
					t.Errorf("%s: with exports %+v, without %+v; want 2 call sites, then 2 immediates only", tag, w, wo)
				}
			}
			if got := strings.Join(without.Warnings, "; "); !strings.Contains(got, "no import table in the memory image") {
				t.Errorf("warnings without exports %q: the sample keeps its import names", got)
			}
		})
	}
}
