package report

import (
	"strings"
	"testing"

	"github.com/poolblame/poolblame/poolscan"
	"github.com/poolblame/poolblame/pooltag"
)

func TestWriteScanContents(t *testing.T) {
	tag := pooltag.Tag(0x6B61654C) // "Leak"
	tests := []struct {
		name string
		c    poolscan.Contents
		want string
	}{
		{"nothing read", poolscan.Contents{Tag: tag, Blocks: 1200, Sizes: []poolscan.SizeCount{{Size: 0x40, Blocks: 1000}, {Size: 0x80, Blocks: 200}}},
			"> Leak: 1,200 blocks in use found, 0 read\n" +
				">   sizes (bytes, header included):\n" +
				">     0x40          1,000  #########################\n" +
				">     0x80            200  #####\n" +
				">   no block could be read\n"},
		{"strings and a tiny share", poolscan.Contents{Tag: tag, Blocks: 1000, Read: 10, Sizes: []poolscan.SizeCount{{Size: 0x40, Blocks: 999}, {Size: 0x1000, Blocks: 1}},
			Prefix: []byte{1, 2}, PrefixShare: 0.5, Strings: []poolscan.StringCount{{Text: "abc", UTF16: true, Blocks: 3, Share: 0.3}}},
			"> Leak: 1,000 blocks in use found, 10 read\n" +
				">   sizes (bytes, header included):\n" +
				">     0x40            999  ##############################\n" +
				">     0x1000            1  #\n" +
				">   50% of the blocks read start with 01 02\n" +
				">    30% contain \"abc\" (UTF-16)\n"},
		{"pointers, a sample, many sizes folded", poolscan.Contents{Tag: tag, Blocks: 90, Read: 2,
			Sizes: []poolscan.SizeCount{{Size: 0x10, Blocks: 10}, {Size: 0x20, Blocks: 10}, {Size: 0x30, Blocks: 10}, {Size: 0x40, Blocks: 10},
				{Size: 0x50, Blocks: 10}, {Size: 0x60, Blocks: 10}, {Size: 0x70, Blocks: 10}, {Size: 0x80, Blocks: 10}, {Size: 0x90, Blocks: 5}, {Size: 0xA0, Blocks: 5}},
			Pointers: []poolscan.PointerCount{{Target: "isil.sys", Blocks: 1, Share: 0.5, Example: "isil.sys+0x10"}},
			Samples:  []poolscan.HexSample{{Addr: 0x1000, Size: 0x10, Bytes: []byte("Leak\x00\x01abcdefghij"), State: "present"}}},
			"> Leak: 90 blocks in use found, 2 read\n" +
				">   sizes (bytes, header included):\n" +
				">     0x10             10  ###\n" +
				">     0x20             10  ###\n" +
				">     0x30             10  ###\n" +
				">     0x40             10  ###\n" +
				">     0x50             10  ###\n" +
				">     0x60             10  ###\n" +
				">     0x70             10  ###\n" +
				">     0x80             10  ###\n" +
				">     other            10  ###\n" +
				">    50% point into isil.sys, e.g. isil.sys+0x10\n" +
				">   block at 0x1000 (16 bytes, present):\n" +
				">     0000000000001000  4c 65 61 6b 00 01 61 62  63 64 65 66 67 68 69 6a  Leak..abcdefghij\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sb strings.Builder
			WriteScanContents(&sb, &tt.c, "> ")
			if sb.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", sb.String(), tt.want)
			}
		})
	}
}

func TestScanPagesSummary(t *testing.T) {
	tests := []struct {
		p    poolscan.PageStats
		want string
	}{
		{poolscan.PageStats{Stored: 12345, Scanned: 12000, PoolPages: 300, Present: 1, Transition: 2, PagedOut: 3, Absent: 4},
			"12,000 of 12,345 stored pages scanned, 300 pool pages; system address space: 1 pages present, 2 in transition, 3 paged out, 4 absent from the dump"},
		{poolscan.PageStats{Stored: 10, Scanned: 8, Truncated: 2, MissingTables: 5},
			"8 of 10 stored pages scanned, 0 pool pages, 2 past the end of the cut file; system address space: 0 pages present, 0 in transition, 0 paged out, 0 absent from the dump, 5 page-table pages missing"},
	}
	for _, tt := range tests {
		if got := ScanPagesSummary(tt.p); got != tt.want {
			t.Errorf("got  %s\nwant %s", got, tt.want)
		}
	}
}
