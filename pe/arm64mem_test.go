package pe

import (
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/arch/arm64/arm64asm"
)

// TestMemImmFromWord: the immediate decoded from the instruction word is
// the one arm64asm prints, for every load and store of the ARM64 drivers
// at hand (the fixture, and the real one when present) and for words from
// a seeded generator.
func TestMemImmFromWord(t *testing.T) {
	files := []string{filepath.Join("testdata", "contoso_arm64.sys"), filepath.Join(realDrivers, "systeminformer_arm64.sys")}
	// Besides the drivers, words from a seeded generator: they reach every
	// load and store encoding whether or not the real driver is present.
	var seeded []byte
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1 << 16 {
		seeded = binary.LittleEndian.AppendUint32(seeded, rng.Uint32())
	}
	inputs := map[string][]byte{"seeded words": seeded}
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			inputs[filepath.Base(p)] = b
		}
	}
	checked := 0
	for name, b := range inputs {
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
					t.Fatalf("%s+%#x %08x %v: %d from the word, %d printed", name, off, word, in, got, want)
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d memory operands checked", checked)
	}
	t.Logf("%d memory operands agree", checked)
}
