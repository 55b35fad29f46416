// Command damage writes damaged copies of good dumps, one per kind of
// damage in package pool/damage, to measure what each does to the answer:
//
//	go run ./scripts/damage -o /tmp/damaged testdata/*.dmp
//
// The inputs are only read. A kind that does not apply to a dump (no
// per-CPU tables, an encoded KDBG) is named and skipped.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/poolblame/poolblame/pool/damage"
)

func main() {
	out := flag.String("o", "damaged", "output folder")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	status := 0
	for _, in := range flag.Args() {
		good, err := os.ReadFile(in)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		base := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
		for _, k := range damage.Kinds {
			d, err := damage.Apply(in, good, k)
			if err != nil {
				fmt.Fprintf(os.Stderr, "skipped: %v\n", err)
				status = 1
				continue
			}
			name := filepath.Join(*out, base+"."+k.Name+".dmp")
			if err := os.WriteFile(name, d, 0o644); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(2)
			}
			fmt.Println(name)
		}
	}
	os.Exit(status)
}
