package dumptest_test

import (
	"encoding/binary"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// TestARM32Tables decodes the builder's ARMv7 short descriptors by hand
// from the file bytes (ARM ARM B3.5.1: first level by VA[31:20] from
// TTBR0 bits 31:14, second level by VA[19:12] from bits 31:10 of a
// page-table descriptor), and checks that the product's reader agrees.
func TestARM32Tables(t *testing.T) {
	for _, typ := range []dumpfile.DumpType{dumpfile.TypeFull, dumpfile.TypeSummary, dumpfile.TypeBitmapFull} {
		t.Run(typ.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchARM32, Type: typ, Seed: 7, DTBFlags: 0x6A})
			const page, cross, section = 0x9A000000, 0x9A0FFFFC, 0x9C000000 // cross: the last word of one L2 table, then the next
			b.Map(page, []byte("first page"))
			b.Map(cross, []byte("crossing"))
			b.MapLarge(section, 1<<20)
			b.Write(section+0xFFFF0, []byte("section tail"))
			data := build(t, b)
			d := parse(t, data)
			if m := binary.LittleEndian.Uint32(data[0x20:]); m != 0x1C4 {
				t.Fatalf("MachineImageType %#x, want 0x1C4", m)
			}
			if d.dtb&0x7F != 0x6A || d.dtb&0x3F80 != 0 {
				t.Fatalf("TTBR0 %#x: want the attribute bits 0x6A and a 16 KiB aligned base", d.dtb)
			}
			word := func(pa uint64) uint32 {
				w, err := d.phys(pa, 4)
				if err != nil {
					t.Fatalf("physical %#x: %v", pa, err)
				}
				return binary.LittleEndian.Uint32(w)
			}
			read := func(va uint64, n int) string {
				l1 := word(d.dtb&^0x3FFF | va>>20<<2)
				var pa uint64
				switch l1 & 3 {
				case 1:
					l2 := word(uint64(l1&0xFFFFFC00) | va>>12&0xFF<<2)
					if l2&2 == 0 {
						t.Fatalf("%#x: second-level descriptor %#x is not a small page", va, l2)
					}
					if l2&0x230 != 0x010 { // AP[2] = 0, AP[1:0] = 01: privileged read/write
						t.Errorf("%#x: small page access bits %#x", va, l2)
					}
					pa = uint64(l2&0xFFFFF000) | va&0xFFF
				case 2:
					if l1&(1<<18) != 0 {
						t.Fatalf("%#x: a supersection %#x", va, l1)
					}
					pa = uint64(l1&0xFFF00000) | va&0xFFFFF
				default:
					t.Fatalf("%#x: first-level descriptor %#x", va, l1)
				}
				got, err := d.phys(pa, n)
				if err != nil {
					t.Fatalf("%#x at %#x: %v", va, pa, err)
				}
				return string(got)
			}
			for _, r := range []struct {
				va   uint64
				want string
			}{{page, "first page"}, {cross, "cros"}, {cross + 4, "sing"}, {section + 0xFFFF0, "section tail"}} {
				if got := read(r.va, len(r.want)); got != r.want {
					t.Errorf("by hand: %#x holds %q, want %q", r.va, got, r.want)
				}
				f, err := dumpfile.NewFile("arm32.dmp", dumpfile.Bytes(data), int64(len(data)))
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, len(r.want))
				if _, err := f.ReadVirtual(r.va, buf); err != nil || string(buf) != r.want {
					t.Errorf("dumpfile: %#x holds %q (%v), want %q", r.va, buf, err, r.want)
				}
			}
		})
	}
}

// TestARM32NoSoftwareEntries: Windows' ARM32 formats of invalid entries
// are not modelled, and asking for one says so.
func TestARM32NoSoftwareEntries(t *testing.T) {
	for name, f := range map[string]func(b *dumptest.Builder){
		"transition": func(b *dumptest.Builder) { b.MapTransition(0x9A000000, []byte{1}) },
		"paged out":  func(b *dumptest.Builder) { b.MapPagedOut(0x9A000000) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(panicText(r), "not modelled") {
					t.Errorf("recovered %v, want a misuse naming what is not modelled", r)
				}
			}()
			f(dumptest.New(dumptest.Config{Arch: dumpfile.ArchARM32}))
		})
	}
	if err := (dumptest.Config{Arch: dumpfile.ArchARM32, Build: 7601}).Validate(); err == nil {
		t.Error("an ARM32 build 7601 (no ARM32 Windows 7) was accepted")
	}
}

func panicText(r any) string {
	if e, ok := r.(error); ok {
		return e.Error()
	}
	if s, ok := r.(string); ok {
		return s
	}
	return ""
}
