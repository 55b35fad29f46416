// Command readall reads every physical page a dump stores, through
// package dumpfile, and prints a checksum: the baseline job that
// scripts/bench-read.sh times against cat.
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"unsafe"

	"github.com/poolblame/poolblame/dumpfile"
)

func main() {
	sparse := flag.Bool("first-word", false, "read one word per page instead of all of it (isolates the cost of the page walk)")
	by := flag.String("by", "map", "how pages are reached: map (File.Pages, the mapping with MADV_POPULATE_READ) or read (File.ReadPages, read(2) into one reused buffer)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: readall [-first-word] DUMP")
		os.Exit(2)
	}
	f, err := dumpfile.Open(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "readall:", err)
		os.Exit(2)
	}
	defer f.Close()
	var sum uint64
	var pages uint64
	walk := f.Pages
	if *by == "read" {
		walk = f.ReadPages
	}
	missing, err := walk(func(pfn uint64, p []byte) bool {
		if *sparse {
			sum ^= binary.LittleEndian.Uint64(p)
		} else {
			// Whole words in one pass: the page is 8-byte aligned in the
			// mapping, and XOR does not care about byte order.
			for _, w := range unsafe.Slice((*uint64)(unsafe.Pointer(&p[0])), len(p)/8) {
				sum ^= w
			}
		}
		pages++
		return true
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "readall:", err)
		os.Exit(2)
	}
	fmt.Printf("%d pages read, %d missing, checksum %#x\n", pages, missing, sum)
}
