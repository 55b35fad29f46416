// Command damage writes damaged copies of good dumps, one per kind of
// damage in package pool/damage, to measure what each does to the answer:
//
//	go run ./scripts/damage -o /tmp/damaged testdata/*.dmp
//
// -at TAG,... also writes each kind that damages one tag's entry aimed at
// each of those tags (NAME.KIND@TAG.dmp), to damage the leaking tag or
// one beside it.
//
// The inputs are only read. A kind that does not apply to a dump (no
// per-CPU tables, an encoded KDBG, a bug check already 0x19) is not an
// error: it is named in one line on stderr and skipped, and the exit
// status stays 0. An unreadable input, a file that is not a dump, a kind
// that fails for another reason or a failed write exits 2.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool/damage"
	"github.com/poolblame/poolblame/pooltag"
)

func main() {
	out := flag.String("o", "damaged", "output folder")
	at := flag.String("at", "", "comma-separated tags to aim the one-entry kinds at, besides the largest nonpaged tag")
	flag.Parse()
	kinds := damage.Kinds
	for _, s := range strings.Split(*at, ",") {
		if s == "" {
			continue
		}
		tag, err := pooltag.ParseTag(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "-at: %v\n", err)
			os.Exit(2)
		}
		for _, k := range kinds {
			if a, ok := damage.At(k.Name, tag); ok {
				kinds = append(kinds, a)
			}
		}
	}
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
		if _, err := dumpfile.NewFile(in, dumpfile.Bytes(good), int64(len(good))); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		base := strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
		for _, k := range kinds {
			d, err := damage.Apply(in, good, k)
			if errors.Is(err, damage.ErrDoesNotApply) {
				fmt.Fprintf(os.Stderr, "skipped, does not apply: %v\n", err)
				continue
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				status = 2
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
