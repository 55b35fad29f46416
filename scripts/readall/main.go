// Command readall reads every physical page a dump stores, through
// package dumpfile, and prints a checksum: the baseline job that
// scripts/bench-read.sh times against cat.
package main

import (
	"encoding/binary"
	"fmt"
	"os"

	"github.com/poolblame/poolblame/dumpfile"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: readall DUMP")
		os.Exit(2)
	}
	f, err := dumpfile.Open(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "readall:", err)
		os.Exit(2)
	}
	defer f.Close()
	var sum uint64
	var pages uint64
	missing, err := f.Pages(func(pfn uint64, p []byte) bool {
		for i := 0; i < len(p); i += 8 {
			sum ^= binary.LittleEndian.Uint64(p[i:])
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
