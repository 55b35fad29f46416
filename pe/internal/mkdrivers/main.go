// Command mkdrivers writes synthetic test drivers of package petest into a
// folder. Without -n it writes the fixtures committed in pe/testdata:
//
//	go run ./pe/internal/mkdrivers -o pe/testdata
//
// With -n N it writes N varied drivers instead, for benchmarks.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/poolblame/poolblame/pe/petest"
)

func main() {
	out := flag.String("o", "testdata", "output folder")
	n := flag.Int("n", 0, "write this many varied drivers instead of the fixtures")
	seed := flag.Uint64("seed", 1, "seed of the varied drivers")
	flag.Parse()
	fixtures := petest.Fixtures()
	if *n > 0 {
		fixtures = petest.Many(*n, *seed)
	}
	for _, f := range fixtures {
		b, err := petest.Build(f.Driver)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mkdrivers: %s: %v\n", f.Name, err)
			os.Exit(1)
		}
		if err := os.WriteFile(filepath.Join(*out, f.Name), b, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "mkdrivers: %v\n", err)
			os.Exit(1)
		}
	}
}
