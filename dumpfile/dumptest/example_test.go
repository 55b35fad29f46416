package dumptest_test

import (
	"fmt"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// A test builds the dump it needs: a driver, a pool block it leaked and
// the KDBG field a reader follows to find the pool tracker table.
func Example() {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeBitmapFull, Build: 19041})
	b.AddModule(dumptest.Module{Name: "leaky.sys", Size: 0x6000})
	block := b.Alloc(0x40, 16)
	b.Write(block, []byte("Leak"))
	table := b.KernelVar(8)
	b.PutPtr(table, block)
	b.SetKDBG(dumptest.KDBGPoolTrackTable, table)
	data, err := b.Bytes()
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s, type %d, %t\n", data[:8], data[0xF98], len(data)%0x1000 == 0)
	// Output: PAGEDU64, type 5, true
}
