package poolscan_test

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
)

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// Blocks of 'Leak' hold, at the same place, a pointer into leaky.sys and
// one to an 'Othr' block, then a file name in UTF-16: nine in ten under
// one volume. Sizes are 0x80 and 0xC0.
func TestContents(t *testing.T) {
	for _, c := range []struct {
		arch  dumpfile.Arch
		build uint32
	}{{dumpfile.ArchAMD64, 7601}, {dumpfile.ArchX86PAE, 3790}, {dumpfile.ArchAMD64, 19041}} {
		t.Run(c.arch.String()+"/"+itoa(c.build), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: c.arch, Build: c.build, Seed: 8})
			base := b.AddModule(dumptest.Module{Name: "leaky.sys", Size: 0x8000})
			ps := c.arch.PointerSize()
			put := func(v uint64) []byte {
				if ps == 8 {
					return binary.LittleEndian.AppendUint64(nil, v)
				}
				return binary.LittleEndian.AppendUint32(nil, uint32(v))
			}
			othrPage := b.Alloc(dumptest.PageSize, dumptest.PageSize)
			var othr []dumptest.PlacedBlock
			if c.build >= 17763 {
				othr = b.SegmentHeapPage(othrPage, dumptest.SegmentLFH, 0x40, []dumptest.PoolBlock{{Tag: "Othr", Size: 0x40}, {Tag: "Othr", Size: 0x40}})
			} else {
				othr = b.ClassicPoolPage(othrPage, []dumptest.PoolBlock{{Tag: "Othr", Size: 0x40}})
			}
			n := 0
			for page := range 5 {
				var blocks []dumptest.PoolBlock
				for range 8 {
					vol := "\\Device\\HarddiskVolume2\\"
					if n%10 == 9 {
						vol = "\\Device\\Mup\\server\\"
					}
					data := append(put(base+0x1234), put(othr[0].Body+8)...)
					data = append(data, utf16le(fmt.Sprintf("%sfile%d.txt", vol, n))...)
					size := 0x80
					if n%4 == 0 {
						size = 0xC0
					}
					if c.build >= 17763 {
						size = 0x80 // LFH blocks share a size
					}
					blocks = append(blocks, dumptest.PoolBlock{Tag: "Leak", Size: size, Data: data})
					n++
				}
				va := b.Alloc(dumptest.PageSize, dumptest.PageSize)
				if c.build >= 17763 {
					b.SegmentHeapPage(va, dumptest.SegmentLFH, 0x20*page, blocks)
				} else {
					b.ClassicPoolPage(va, blocks)
				}
			}
			f := open(t, b)
			r := scan(t, f, "Leak")
			mods, err := f.Modules()
			if err != nil {
				t.Fatal(err)
			}
			ct := poolscan.ReadContents(f, r, pooltag.MustTag("Leak"), poolscan.ContentOptions{Modules: mods})
			if ct.Blocks != 40 || ct.Read != 40 {
				t.Fatalf("blocks %d, read %d", ct.Blocks, ct.Read)
			}
			var total int64
			for _, s := range ct.Sizes {
				total += s.Blocks
			}
			if total != 40 || (c.build < 17763 && (len(ct.Sizes) != 2 || ct.Sizes[0].Blocks != 30)) {
				t.Errorf("sizes %+v", ct.Sizes)
			}
			if ct.PrefixShare != 1 || len(ct.Prefix) != 8 {
				t.Errorf("prefix % x share %v", ct.Prefix, ct.PrefixShare)
			}
			var vol *poolscan.StringCount
			for i, s := range ct.Strings {
				if s.Text == "\\Device\\HarddiskVolume2\\" && s.UTF16 {
					vol = &ct.Strings[i]
				}
			}
			if vol == nil || vol.Blocks != 36 {
				t.Errorf("strings %+v", ct.Strings)
			}
			var mod, othrPtr bool
			for _, p := range ct.Pointers {
				if p.Module == "leaky.sys" && p.Blocks == 40 && p.Example == "leaky.sys+0x1234" {
					mod = true
				}
				if p.TagStr == "Othr" && p.Blocks == 40 && strings.Contains(p.Example, "Othr block") {
					othrPtr = true
				}
			}
			if !mod || !othrPtr {
				t.Errorf("pointers %+v", ct.Pointers)
			}
			if len(ct.Samples) != 3 || !strings.Contains(poolscan.Hex(ct.Samples[0].Addr, ct.Samples[0].Bytes), "Leak") {
				t.Errorf("samples %+v", ct.Samples)
			}
		})
	}
}
