package dumptest_test

import (
	"bytes"
	"debug/pe"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe/petest"
)

func TestBuildSpec(t *testing.T) {
	const spec = `{
		"Arch": "x64", "Type": "bitmap", "Build": 17763, "Seed": 12, "Uptime": "36h",
		"Damage": {"Truncate": 0},
		"Modules": [{"Name": "leaky.sys", "Base": "0xfffff80002000000", "Size": 16384, "Exports": ["LeakyAlloc"], "DiscardImports": true}],
		"Pages": [
			{"VA": "0xffffe00000000000", "Text": "hello pool"},
			{"VA": "0xffffe00000001000", "Hex": "de ad be ef"},
			{"VA": "0xffffe00000002000", "Fill": 170, "Size": 8192},
			{"VA": "0xffffe00000200000", "Kind": "large", "Size": 2097152, "Text": "large"},
			{"VA": "0xffffe00000010000", "Kind": "transition", "Text": "standby"},
			{"VA": "0xffffe00000020000", "Kind": "pagedout"},
			{"VA": "0xffffe00000030000", "Kind": "absent"}
		],
		"KDBG": {"PoolTrackTable": "0xfffff80000412340", "0x140": 4096}
	}`
	var s dumptest.Spec
	if err := json.Unmarshal([]byte(spec), &s); err != nil {
		t.Fatal(err)
	}
	if s.Arch != dumpfile.ArchAMD64 || s.Type != dumpfile.TypeBitmapFull || s.Uptime != 36*time.Hour {
		t.Fatalf("decoded %v %v %v", s.Arch, s.Type, s.Uptime)
	}
	b, err := dumptest.Build(s)
	if err != nil {
		t.Fatal(err)
	}
	if va, ok := b.Export("leaky.sys", "LeakyAlloc"); !ok || va>>12 != 0xFFFFF80002001 {
		t.Errorf("Export(leaky.sys, LeakyAlloc) = %#x, %v; want an address in its first .text page", va, ok)
	}
	d := parse(t, build(t, b))
	arch := dumpfile.ArchAMD64
	for _, r := range []struct {
		va   uint64
		want string
	}{
		{0xFFFFE00000000000, "hello pool"},
		{0xFFFFE00000001000, "\xde\xad\xbe\xef"},
		{0xFFFFE00000003FFF, "\xaa"},
		{0xFFFFE00000200000, "large"},
		{0xFFFFE00000010000, "standby"},
		{0xFFFFF80002000000, "MZ"},
	} {
		if got, err := d.virt(arch, r.va, len(r.want)); err != nil || string(got) != r.want {
			t.Errorf("%#x = %q, %v; want %q", r.va, got, err, r.want)
		}
	}
	for _, va := range []uint64{0xFFFFE00000020000, 0xFFFFE00000030000} {
		if _, err := d.virt(arch, va, 1); err == nil {
			t.Errorf("%#x readable, want paged out / absent", va)
		}
	}
	blk, err := d.virt(arch, b.KDBGAddress(), 0x200)
	if err != nil {
		t.Fatal(err)
	}
	if u64(blk, 0x1B8) != 0xFFFFF80000412340 || u64(blk, 0x140) != 4096 {
		t.Errorf("KDBG PoolTrackTable %#x, 0x140 = %#x", u64(blk, 0x1B8), u64(blk, 0x140))
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name, spec, want string
	}{
		{"unknown field", `{"Arch": "x64", "Colour": 1}`, "unknown field"},
		{"bad arch", `{"Arch": "mips"}`, "Arch"},
		{"rdmp on x86", `{"Arch": "x86", "Type": 8}`, "64-bit"},
		{"bad kind", `{"Arch": "x64", "Pages": [{"VA": 4096, "Kind": "weird"}]}`, "unknown Kind"},
		{"bad hex", `{"Arch": "x64", "Pages": [{"VA": "0xffffe00000000000", "Hex": "zz"}]}`, "Hex"},
		{"two data", `{"Arch": "x64", "Pages": [{"VA": "0xffffe00000000000", "Hex": "00", "Text": "a"}]}`, "one of"},
		{"unaligned large", `{"Arch": "x64", "Pages": [{"VA": "0xffffe00000001000", "Kind": "large", "Size": 2097152}]}`, "not aligned"},
		{"overlap", `{"Arch": "x64", "Pages": [{"VA": "0xffffe00000000000", "Kind": "pagedout"}, {"VA": "0xffffe00000000000", "Text": "x"}]}`, "already paged out"},
		{"non-canonical", `{"Arch": "x64", "Pages": [{"VA": "0x0000900000000000", "Text": "x"}]}`, "canonical"},
		{"kdbg field", `{"Arch": "x64", "KDBG": {"NoSuchField": 1}}`, "unknown field"},
		{"kdbg offset", `{"Arch": "x64", "KDBG": {"0x1000": 1}}`, "outside"},
		{"module file", `{"Arch": "x64", "Modules": [{"Name": "a.sys", "File": "/nonexistent/a.sys"}]}`, "Modules[0]"},
		{"module not PE", `{"Arch": "x64", "Modules": [{"Name": "a.sys", "File": "spec_test.go"}]}`, "a.sys"},
		{"encode on arm64", `{"Arch": "arm64", "EncodeKDBG": true}`, "x64 only"},
		{"damage type", `{"Arch": "x64", "Type": 5, "Damage": {"RunPastEnd": true}}`, "type 1"},
		{"uptime text", `{"Arch": "x64", "Uptime": "soon"}`, "bad Uptime"},
		{"uptime kind", `{"Arch": "x64", "Uptime": true}`, "bad Uptime true: want a duration string or seconds"},
		{"fill without size", `{"Arch": "x64", "Pages": [{"VA": "0xffffe00000000000", "Fill": 1}]}`, "in Pages[0] at 0xffffe00000000000: a Fill needs a Size"},
		{"fill on large", `{"Arch": "x64", "Pages": [{"VA": "0xffffe00000200000", "Kind": "large", "Size": 2097152, "Fill": 1}]}`, "large pages"},
		{"complete on full", `{"Arch": "x64", "Type": 1, "Complete": true}`, "dump type 1: Complete (FDMP)"},
		{"long comment", `{"Arch": "x64", "Comment": "` + strings.Repeat("c", 128) + `"}`, "a Comment of 128 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s dumptest.Spec
			err := json.Unmarshal([]byte(tt.spec), &s)
			if err == nil {
				_, err = dumptest.Build(s)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestMisusePanics checks that Builder methods refuse what cannot be.
func TestMisusePanics(t *testing.T) {
	const va = 0xFFFFE00000000000
	tests := []struct {
		name string
		do   func(b *dumptest.Builder)
	}{
		{"write unmapped", func(b *dumptest.Builder) { b.Write(va, []byte{1}) }},
		{"write paged out", func(b *dumptest.Builder) { b.MapPagedOut(va); b.PutU32(va, 1) }},
		{"write absent", func(b *dumptest.Builder) { b.MapAbsent(va); b.PutU32(va, 1) }},
		{"map into large", func(b *dumptest.Builder) { b.MapLarge(va, 2<<20); b.Map(va+0x5000, nil) }},
		{"large over page", func(b *dumptest.Builder) { b.Map(va+0x5000, nil); b.MapLarge(va, 2<<20) }},
		{"large size", func(b *dumptest.Builder) { b.MapLarge(va, 4<<20) }},
		{"large overlap", func(b *dumptest.Builder) { b.MapLarge(va, 1<<30); b.MapLarge(va+2<<20, 2<<20) }},
		{"kind change", func(b *dumptest.Builder) { b.Map(va, nil); b.MapTransition(va, nil) }},
		{"alloc align", func(b *dumptest.Builder) { b.Alloc(16, 3) }},
		{"kernel var full", func(b *dumptest.Builder) { b.KernelVar(1 << 20) }},
		{"module overlap", func(b *dumptest.Builder) { b.AddModule(dumptest.Module{Name: "x.sys", Base: b.KernBase()}) }},
		{"module no name", func(b *dumptest.Builder) { b.AddModule(dumptest.Module{}) }},
		{"kdbg past size", func(b *dumptest.Builder) { b.SetKDBG(0x380, 1) }},
		{"exports of an image", func(b *dumptest.Builder) {
			b.AddModule(dumptest.Module{Name: "x.sys", Image: driver(t, nil), Exports: []string{"A"}})
		}},
		{"exports without text", func(b *dumptest.Builder) {
			b.AddModule(dumptest.Module{Name: "x.sys", Size: 0x1000, Exports: []string{"A"}})
		}},
		{"import name outside image", func(b *dumptest.Builder) {
			b.AddModule(dumptest.Module{Name: "x.sys", Image: driver(t, func(img []byte) {
				f, err := pe.NewFile(bytes.NewReader(img))
				if err != nil {
					t.Fatal(err)
				}
				dir := f.OptionalHeader.(*pe.OptionalHeader64).DataDirectory[pe.IMAGE_DIRECTORY_ENTRY_IMPORT]
				desc := fileAt(f, img, dir.VirtualAddress, 20)
				le.PutUint32(desc[12:], 0x7FFFFFF0) // the DLL name's RVA
			})})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64})
			defer func() {
				r := recover()
				if r == nil {
					t.Fatal("no panic")
				}
				if err, ok := r.(error); !ok || !strings.HasPrefix(err.Error(), "dumptest: ") {
					t.Fatalf("panic %v: want a dumptest error", r)
				}
				t.Log(r)
			}()
			tt.do(b)
		})
	}
}

// driver returns a small x64 driver image, changed by edit when not nil.
func driver(t *testing.T, edit func(img []byte)) []byte {
	t.Helper()
	img, err := petest.Build(petest.Driver{Machine: petest.X64, AllocTags: []uint32{petest.Tag("Tst1")}})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(img)
	}
	return img
}
