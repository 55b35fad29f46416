package dumptest_test

import (
	"bytes"
	"debug/pe"
	"testing"
	"unicode/utf16"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"

	"github.com/poolblame/poolblame/internal/realdata"
)

// ldr holds LDR_DATA_TABLE_ENTRY offsets from the reference.
type ldr struct{ dllBase, sizeOfImage, fullName, baseName, buffer int }

var (
	ldr64 = ldr{0x30, 0x40, 0x48, 0x58, 8}
	ldr32 = ldr{0x18, 0x20, 0x24, 0x2C, 4}
)

type listed struct {
	name, path string
	base, size uint64
}

// walkModules follows PsLoadedModuleList by hand, checking Blinks.
func walkModules(t *testing.T, d *dump, arch dumpfile.Arch, head uint64) []listed {
	t.Helper()
	o, ps := ldr32, uint64(4)
	if arch.Is64() {
		o, ps = ldr64, 8
	}
	str := func(us uint64) string {
		b, err := d.virt(arch, us, 2)
		if err != nil {
			t.Fatal(err)
		}
		n := int(le.Uint16(b))
		raw, err := d.virt(arch, d.ptr(t, arch, us+uint64(o.buffer)), n)
		if err != nil {
			t.Fatal(err)
		}
		u := make([]uint16, n/2)
		for i := range u {
			u[i] = le.Uint16(raw[2*i:])
		}
		return string(utf16.Decode(u))
	}
	var out []listed
	prev := head
	for e := d.ptr(t, arch, head); e != head; e = d.ptr(t, arch, e) {
		if len(out) > 100 {
			t.Fatal("module list does not come back to its head")
		}
		if got := d.ptr(t, arch, e+ps); got != prev {
			t.Errorf("entry %#x: Blink %#x, want %#x", e, got, prev)
		}
		b, err := d.virt(arch, e+uint64(o.sizeOfImage), 4)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, listed{
			name: str(e + uint64(o.baseName)), path: str(e + uint64(o.fullName)),
			base: d.ptr(t, arch, e+uint64(o.dllBase)), size: uint64(le.Uint32(b)),
		})
		prev = e
	}
	if got := d.ptr(t, arch, head+ps); got != prev {
		t.Errorf("head Blink %#x, want the last entry %#x", got, prev)
	}
	return out
}

func TestModuleList(t *testing.T) {
	for _, arch := range allArchs {
		t.Run(arch.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: arch, Seed: 4})
			base1 := b.AddModule(dumptest.Module{Name: "tcpip.sys", Size: 0x5000, TimeDateStamp: 0x12345678})
			base2 := b.AddModule(dumptest.Module{Name: "leaky.sys", Path: `\??\C:\drv\leaky.sys`})
			d := parse(t, build(t, b))
			head, _ := b.Symbol("PsLoadedModuleList")
			mods := walkModules(t, d, arch, head)
			kname := "ntoskrnl.exe"
			if arch == dumpfile.ArchX86PAE {
				kname = "ntkrnlpa.exe"
			}
			want := []listed{
				{kname, `\SystemRoot\system32\` + kname, b.KernBase(), 0},
				{"tcpip.sys", `\SystemRoot\system32\drivers\tcpip.sys`, base1, 0x5000},
				{"leaky.sys", `\??\C:\drv\leaky.sys`, base2, 0x8000},
			}
			if len(mods) != len(want) {
				t.Fatalf("%d modules, want %d: %+v", len(mods), len(want), mods)
			}
			for i, w := range want {
				m := mods[i]
				if m.name != w.name || m.path != w.path || m.base != w.base || (w.size != 0 && m.size != w.size) {
					t.Errorf("module %d = %+v, want %+v", i, m, w)
				}
				// Each image starts with a PE header whose SizeOfImage matches.
				hdr, err := d.virt(arch, m.base, 0x400)
				if err != nil {
					t.Fatalf("%s header: %v", m.name, err)
				}
				f, err := pe.NewFile(bytes.NewReader(hdr))
				if err != nil {
					t.Fatalf("%s header does not parse: %v", m.name, err)
				}
				var soi uint32
				switch oh := f.OptionalHeader.(type) {
				case *pe.OptionalHeader32:
					soi = oh.SizeOfImage
				case *pe.OptionalHeader64:
					soi = oh.SizeOfImage
				}
				if uint64(soi) != m.size {
					t.Errorf("%s: SizeOfImage %#x in header, %#x in its entry", m.name, soi, m.size)
				}
				wantMachine := map[dumpfile.Arch]uint16{dumpfile.ArchARM64: 0xAA64, dumpfile.ArchAMD64: 0x8664}[arch]
				if wantMachine == 0 {
					wantMachine = 0x14C
				}
				if f.FileHeader.Machine != wantMachine {
					t.Errorf("%s: machine %#x, want %#x", m.name, f.FileHeader.Machine, wantMachine)
				}
			}
			// The kernel has .text and a .data of the default 64 KiB.
			if mods[0].size != 0x2000+0x10000 {
				t.Errorf("kernel SizeOfImage %#x, want %#x", mods[0].size, 0x12000)
			}
		})
	}
}

// TestModuleImage maps a real driver and compares each section in memory
// with its raw data in the file. The IAT is the exception: the slots of
// routines the kernel exports hold their addresses, as the loader leaves
// them.
func TestModuleImage(t *testing.T) {
	img := realdata.Read(t, "drivers/winpmem_x64.sys")
	f, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	oh := f.OptionalHeader.(*pe.OptionalHeader64)
	soi, iat := oh.SizeOfImage, oh.DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_IAT]
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Seed: 8})
	base := b.AddModule(dumptest.Module{Name: "winpmem_x64.sys", Image: img, PagedOut: []int{1}})
	exported := map[uint64]string{}
	for _, n := range []string{"ExAllocatePoolWithTag", "ExFreePoolWithTag", "ExAllocatePool2", "ExAllocatePoolWithQuotaTag", "ExAllocatePool"} {
		va, ok := b.Export("ntoskrnl.exe", n)
		if !ok {
			t.Fatalf("kernel does not export %s", n)
		}
		exported[va] = n
	}
	d := parse(t, build(t, b))
	// winpmem_x64.sys imports ExAllocatePoolWithTag and ExFreePoolWithTag,
	// which the kernel exports, and others, which it does not.
	bound := map[string]bool{}
	for off := uint32(0); off < iat.Size; off += 8 {
		got, err := d.virt(dumpfile.ArchAMD64, base+uint64(iat.VirtualAddress+off), 8)
		if err != nil {
			t.Fatal(err)
		}
		v := le.Uint64(got)
		if n, ok := exported[v]; ok {
			bound[n] = true
			continue
		}
		if want := fileAt(f, img, iat.VirtualAddress+off, 8); !bytes.Equal(got, want) {
			t.Errorf("IAT slot at RVA %#x holds %#x: neither the file's value nor a kernel export", iat.VirtualAddress+off, v)
		}
	}
	if !bound["ExAllocatePoolWithTag"] || !bound["ExFreePoolWithTag"] || len(bound) != 2 {
		t.Errorf("bound IAT slots %v, want ExAllocatePoolWithTag and ExFreePoolWithTag", bound)
	}
	inIAT := func(rva uint32) bool { return rva >= iat.VirtualAddress && rva-iat.VirtualAddress < iat.Size }
	for _, s := range f.Sections {
		n := min(s.Size, s.VirtualSize)
		for off := uint32(0); off < n; off += 0x1000 {
			va := base + uint64(s.VirtualAddress+off)
			k := min(0x1000-int(va&0xFFF), int(n-off))
			got, err := d.virt(dumpfile.ArchAMD64, va, k)
			if (va-base)/0x1000 == 1 {
				if err == nil {
					t.Errorf("paged-out image page 1 is readable")
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s+%#x: %v", s.Name, off, err)
			}
			want := img[s.Offset+off : s.Offset+off+uint32(k)]
			for i := range got {
				if got[i] != want[i] && !inIAT(s.VirtualAddress+off+uint32(i)) {
					t.Fatalf("%s+%#x differs from the file's raw data", s.Name, off+uint32(i))
				}
			}
		}
	}
	// Zero fill up to SizeOfImage is mapped.
	if _, err := d.virt(dumpfile.ArchAMD64, base+uint64(soi)-1, 1); err != nil {
		t.Errorf("last byte of the image: %v", err)
	}
	head, _ := b.Symbol("PsLoadedModuleList")
	if mods := walkModules(t, d, dumpfile.ArchAMD64, head); mods[1].size != uint64(soi) {
		t.Errorf("entry SizeOfImage %#x, want %#x", mods[1].size, soi)
	}
}

func TestDamage(t *testing.T) {
	base := dumptest.Config{Arch: dumpfile.ArchAMD64, Seed: 6}
	withModules := func(c dumptest.Config) *dumptest.Builder {
		b := dumptest.New(c)
		b.AddModule(dumptest.Module{Name: "a.sys"})
		b.AddModule(dumptest.Module{Name: "b.sys"})
		return b
	}
	t.Run("Truncate", func(t *testing.T) {
		c := base
		c.Damage.Truncate = 0x3456
		b := withModules(c)
		data := build(t, b)
		if len(data) != 0x3456 {
			t.Fatalf("len %#x, want 0x3456", len(data))
		}
		full := withModules(base)
		fullData := build(t, full)
		if got := u64(data, 0xFA0); got != uint64(len(fullData)) {
			t.Errorf("RequiredDumpSpace %#x, want the uncut size %#x", got, len(fullData))
		}
		if !bytes.Equal(data, fullData[:0x3456]) {
			t.Error("truncated file is not a prefix of the whole one")
		}
		c.Damage.Truncate = int64(len(fullData)) + 1
		if _, err := withModules(c).Bytes(); err == nil {
			t.Error("Truncate past the end: no error")
		}
	})
	t.Run("ModuleListLoop", func(t *testing.T) {
		c := base
		c.Damage.ModuleListLoop = true
		b := withModules(c)
		d := parse(t, build(t, b))
		head, _ := b.Symbol("PsLoadedModuleList")
		first := d.ptr(t, c.Arch, head)
		second := d.ptr(t, c.Arch, first)
		third := d.ptr(t, c.Arch, second)
		if got := d.ptr(t, c.Arch, third); got != second {
			t.Errorf("last entry's Flink %#x, want the second entry %#x", got, second)
		}
		if good := parse(t, build(t, withModules(base))); good.ptr(t, c.Arch, third) != head {
			t.Error("undamaged list does not end at its head")
		}
	})
	t.Run("ModuleBadPointer", func(t *testing.T) {
		c := base
		c.Damage.ModuleBadPointer = true
		b := withModules(c)
		d := parse(t, build(t, b))
		head, _ := b.Symbol("PsLoadedModuleList")
		bad := false
		for e, i := d.ptr(t, c.Arch, head), 0; e != head && i < 5; i++ {
			if w, err := d.walk(c.Arch, e); err != nil || !w.valid {
				bad = true
				if e != b.UnmappedAddr() {
					t.Errorf("bad Flink %#x, want %#x", e, b.UnmappedAddr())
				}
				break
			}
			e = d.ptr(t, c.Arch, e)
		}
		if !bad {
			t.Error("every Flink is mapped")
		}
	})
	t.Run("RunPastEnd", func(t *testing.T) {
		c := base
		c.Type = dumpfile.TypeFull
		c.Damage.RunPastEnd = true
		data := build(t, withModules(c))
		d := parse(t, data)
		past := 0
		for _, off := range d.pages {
			if off+0x1000 > uint64(len(data)) {
				past++
			}
		}
		if past == 0 {
			t.Error("no run lies past the end of the file")
		}
		if u64(data, 0xFA0) != uint64(len(data)) {
			t.Errorf("RequiredDumpSpace %#x, file %#x", u64(data, 0xFA0), len(data))
		}
	})
	t.Run("BitmapCountMismatch", func(t *testing.T) {
		c := base
		c.Damage.BitmapCountMismatch = true
		d := parse(t, build(t, withModules(c)))
		if d.present == d.setBits {
			t.Errorf("TotalPresentPages %d equals the set bits", d.present)
		}
	})
}

// fileAt returns n bytes of the file that the image holds at rva.
func fileAt(f *pe.File, img []byte, rva, n uint32) []byte {
	for _, s := range f.Sections {
		if rva >= s.VirtualAddress && rva-s.VirtualAddress+n <= s.Size {
			off := s.Offset + rva - s.VirtualAddress
			return img[off : off+n]
		}
	}
	return nil
}
