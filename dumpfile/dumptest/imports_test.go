package dumptest_test

import (
	"bytes"
	"debug/pe"
	"maps"
	"slices"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe/petest"
)

// exportsOf reads the export directory of the image mapped at base, by
// hand: its DLL name and each named export's address.
func exportsOf(t *testing.T, d *dump, arch dumpfile.Arch, base uint64) (string, map[string]uint64) {
	t.Helper()
	hdr, err := d.virt(arch, base, 0x1000)
	if err != nil {
		t.Fatal(err)
	}
	f, err := pe.NewFile(bytes.NewReader(hdr))
	if err != nil {
		t.Fatal(err)
	}
	var dir pe.DataDirectory
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_EXPORT]
	case *pe.OptionalHeader64:
		dir = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_EXPORT]
	}
	if dir.Size < 40 {
		t.Fatalf("export directory %+v", dir)
	}
	tab, err := d.virt(arch, base+uint64(dir.VirtualAddress), int(dir.Size))
	if err != nil {
		t.Fatal(err)
	}
	at := func(rva uint32) []byte { return tab[rva-dir.VirtualAddress:] }
	str := func(rva uint32) string { s := at(rva); return string(s[:bytes.IndexByte(s, 0)]) }
	nfuncs, nnames := le.Uint32(tab[20:]), le.Uint32(tab[24:])
	funcs, names, ords := le.Uint32(tab[28:]), le.Uint32(tab[32:]), le.Uint32(tab[36:])
	out := map[string]uint64{}
	var order []string
	for i := uint32(0); i < nnames; i++ {
		name := str(le.Uint32(at(names + 4*i)))
		ord := uint32(le.Uint16(at(ords + 2*i)))
		if ord >= nfuncs {
			t.Fatalf("%s: ordinal index %d of %d functions", name, ord, nfuncs)
		}
		out[name] = base + uint64(le.Uint32(at(funcs+4*ord)))
		order = append(order, name)
	}
	if !slices.IsSorted(order) {
		t.Errorf("export names not sorted: %v", order)
	}
	return str(le.Uint32(tab[12:])), out
}

func TestKernelExports(t *testing.T) {
	stubs := map[dumpfile.Arch][]byte{
		dumpfile.ArchX86:    {0x33, 0xC0, 0xC3},
		dumpfile.ArchX86PAE: {0x33, 0xC0, 0xC3},
		dumpfile.ArchAMD64:  {0x33, 0xC0, 0xC3},
		dumpfile.ArchARM64:  {0x00, 0x00, 0x80, 0xD2, 0xC0, 0x03, 0x5F, 0xD6},
	}
	want := []string{"ExAllocatePool", "ExAllocatePool2", "ExAllocatePoolWithQuotaTag", "ExAllocatePoolWithTag", "ExFreePoolWithTag"}
	for _, arch := range allArchs {
		t.Run(arch.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: arch, Seed: 11})
			d := parse(t, build(t, b))
			dll, exports := exportsOf(t, d, arch, b.KernBase())
			kname := "ntoskrnl.exe"
			if arch == dumpfile.ArchX86PAE {
				kname = "ntkrnlpa.exe"
			}
			if dll != kname {
				t.Errorf("export directory names %q, want %q", dll, kname)
			}
			if got := slices.Sorted(maps.Keys(exports)); !slices.Equal(got, want) {
				t.Fatalf("exports %v, want %v", got, want)
			}
			seen := map[uint64]bool{}
			for name, va := range exports {
				for _, mod := range []string{kname, "NTOSKRNL.EXE"} {
					if got, ok := b.Export(mod, name); !ok || got != va {
						t.Errorf("Export(%s, %s) = %#x, %v; the directory says %#x", mod, name, got, ok, va)
					}
				}
				code, err := d.virt(arch, va, len(stubs[arch]))
				if err != nil || !bytes.Equal(code, stubs[arch]) {
					t.Errorf("%s at %#x: % x, %v; want the stub % x", name, va, code, err, stubs[arch])
				}
				if seen[va] {
					t.Errorf("%s shares address %#x", name, va)
				}
				seen[va] = true
			}
			if _, ok := b.Export(kname, "KeBugCheckEx"); ok {
				t.Error("Export found a routine the kernel does not export")
			}
			if _, ok := b.Export("hal.dll", "ExAllocatePoolWithTag"); ok {
				t.Error("Export found a module that is not loaded")
			}
		})
	}
}

// TestBindImports maps a driver that imports ExAllocatePoolWithTag and
// ExFreePoolWithTag from ntoskrnl.exe: its IAT slots must hold the kernel's
// addresses, its code must be untouched, and with DiscardImports its import
// names must be gone.
func TestBindImports(t *testing.T) {
	machines := map[dumpfile.Arch]uint16{
		dumpfile.ArchX86: petest.X86, dumpfile.ArchX86PAE: petest.X86,
		dumpfile.ArchAMD64: petest.X64, dumpfile.ArchARM64: petest.ARM64,
	}
	for _, arch := range allArchs {
		for _, discard := range []bool{false, true} {
			name := arch.String() + map[bool]string{false: "/bound", true: "/discarded"}[discard]
			t.Run(name, func(t *testing.T) {
				img, err := petest.Build(petest.Driver{Machine: machines[arch], AllocTags: []uint32{petest.Tag("Tst1")}})
				if err != nil {
					t.Fatal(err)
				}
				f, err := pe.NewFile(bytes.NewReader(img))
				if err != nil {
					t.Fatal(err)
				}
				var iat pe.DataDirectory
				var soi uint32
				ptr := 8
				switch oh := f.OptionalHeader.(type) {
				case *pe.OptionalHeader32:
					iat, soi, ptr = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_IAT], oh.SizeOfImage, 4
				case *pe.OptionalHeader64:
					iat, soi = oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_IAT], oh.SizeOfImage
				}
				b := dumptest.New(dumptest.Config{Arch: arch, Seed: 12})
				base := b.AddModule(dumptest.Module{Name: "tst.sys", Image: img, DiscardImports: discard})
				d := parse(t, build(t, b))
				mem, err := d.virt(arch, base, int(soi))
				if err != nil {
					t.Fatal(err)
				}
				slot := func(i int) uint64 {
					v := mem[int(iat.VirtualAddress)+i*ptr:]
					if ptr == 4 {
						return uint64(le.Uint32(v))
					}
					return le.Uint64(v)
				}
				for i, fn := range []string{"ExAllocatePoolWithTag", "ExFreePoolWithTag"} {
					want, _ := b.Export("ntoskrnl.exe", fn)
					if got := slot(i); got != want {
						t.Errorf("IAT slot %d (%s) holds %#x, want %#x", i, fn, got, want)
					}
				}
				if slot(2) != 0 {
					t.Errorf("IAT terminator %#x, want 0", slot(2))
				}
				for _, s := range []string{"ExAllocatePoolWithTag", "ExFreePoolWithTag", "ntoskrnl.exe"} {
					if got := bytes.Contains(mem, []byte(s)); got == discard {
						t.Errorf("%q in the image: %v, want %v", s, got, !discard)
					}
				}
				for _, s := range f.Sections {
					if s.Name == ".rdata" {
						continue // the import tables
					}
					if want := fileAt(f, img, s.VirtualAddress, s.VirtualSize); !bytes.Equal(mem[s.VirtualAddress:s.VirtualAddress+s.VirtualSize], want) {
						t.Errorf("section %s differs from the file", s.Name)
					}
				}
				if !bytes.Equal(mem[:0x200], img[:0x200]) {
					t.Error("headers differ from the file: the import directory entry must stay")
				}
			})
		}
	}
}

// TestModuleExports binds a driver's imports to a generated module that
// exports one of them: the DLL an import names decides who binds it.
func TestModuleExports(t *testing.T) {
	img, err := petest.Build(petest.Driver{Machine: petest.X64, AllocTags: []uint32{petest.Tag("Ndi1")}})
	if err != nil {
		t.Fatal(err)
	}
	img = bytes.Replace(img, []byte("ntoskrnl.exe\x00"), []byte("NDIS.SYS\x00\x00\x00\x00\x00"), 1)
	f, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	iat := f.OptionalHeader.(*pe.OptionalHeader64).DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_IAT]
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Seed: 13})
	ndis := b.AddModule(dumptest.Module{Name: "ndis.sys", Exports: []string{"NdisAllocateMemoryWithTag", "ExAllocatePoolWithTag"}})
	base := b.AddModule(dumptest.Module{Name: "miniport.sys", Image: img})
	d := parse(t, build(t, b))
	dll, exports := exportsOf(t, d, dumpfile.ArchAMD64, ndis)
	if dll != "ndis.sys" || len(exports) != 2 {
		t.Fatalf("ndis.sys exports %q %v", dll, exports)
	}
	for name, va := range exports {
		if got, ok := b.Export("NDIS.sys", name); !ok || got != va {
			t.Errorf("Export(NDIS.sys, %s) = %#x, %v; the directory says %#x", name, got, ok, va)
		}
	}
	slots, err := d.virt(dumpfile.ArchAMD64, base+uint64(iat.VirtualAddress), 16)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := le.Uint64(slots), exports["ExAllocatePoolWithTag"]; got != want {
		t.Errorf("ExAllocatePoolWithTag slot %#x, want ndis.sys's %#x", got, want)
	}
	// ExFreePoolWithTag is the kernel's, but this import names NDIS.SYS,
	// which does not export it: the slot keeps its hint/name RVA.
	if got, want := le.Uint64(slots[8:]), le.Uint64(fileAt(f, img, iat.VirtualAddress+8, 8)); got != want {
		t.Errorf("ExFreePoolWithTag slot %#x, want the unbound %#x", got, want)
	}
}
