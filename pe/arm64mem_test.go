package pe

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
)

// TestMemImmFromWord: the immediate decoded from the instruction word is
// the one arm64asm prints, for every load and store of the ARM64 drivers
// at hand (the fixture, and the real one when present).
func TestMemImmFromWord(t *testing.T) {
	files := []string{filepath.Join("testdata", "contoso_arm64.sys"), filepath.Join(realDrivers, "systeminformer_arm64.sys")}
	checked := 0
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// Every aligned word of the file: code, data and headers alike,
		// which only widens the instructions tried.
		for off := 0; off+4 <= len(b); off += 4 {
			word := binary.LittleEndian.Uint32(b[off:])
			in, err := arm64asm.Decode(b[off : off+4])
			if err != nil {
				continue
			}
			for _, a := range in.Args {
				m, ok := a.(arm64asm.MemImmediate)
				if !ok {
					continue
				}
				checked++
				if got, want := memImmOf(word, m), memImm(m); got != want {
					t.Fatalf("%s+%#x %08x %v: %d from the word, %d printed", filepath.Base(p), off, word, in, got, want)
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d memory operands checked", checked)
	}
	t.Logf("%d memory operands agree", checked)
}
