// Command mkdump writes a Windows kernel crash dump described by a JSON
// spec (see dumptest.Spec), for tests and for trying readers by hand.
//
// Usage:
//
//	mkdump -spec x.json -o x.dmp
//
// Module File paths in the spec are relative to the spec's directory.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("mkdump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	specPath := fs.String("spec", "", "JSON `file` describing the dump")
	out := fs.String("o", "", "dump `file` to write")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *specPath == "" || *out == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: mkdump -spec x.json -o x.dmp")
		return 2
	}
	if err := mkdump(*specPath, *out); err != nil {
		fmt.Fprintf(stderr, "mkdump: %v\n", err)
		return 1
	}
	return 0
}

func mkdump(specPath, out string) error {
	data, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	var spec dumptest.Spec
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&spec); err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	dir := filepath.Dir(specPath)
	for i, m := range spec.Modules {
		if m.File != "" && !filepath.IsAbs(m.File) {
			spec.Modules[i].File = filepath.Join(dir, m.File)
		}
	}
	b, err := dumptest.Build(spec)
	if err != nil {
		return fmt.Errorf("%s: %w", specPath, err)
	}
	if err := b.WriteFile(out); err != nil {
		return fmt.Errorf("%s: %w", out, err)
	}
	return nil
}
