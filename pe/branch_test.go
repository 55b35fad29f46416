package pe

import (
	"testing"

	"github.com/poolblame/poolblame/pe/petest"
)

// TestStateAlongBranches: code reached only by a forward branch, after an
// unconditional jmp, keeps what the branch carried. Without it neither
// shape yields a call site.
func TestStateAlongBranches(t *testing.T) {
	tests := []struct {
		name    string
		d       petest.Driver
		tag     string
		wrapped int
	}{
		// mov edi,[ExAllocatePoolWithTag]; jne L; xor eax,eax; jmp out;
		// L: push tag; ...; call edi
		{"routine in edi", petest.Driver{Machine: petest.X86, RoutineInRegTags: []uint32{petest.Tag("Edi1")}}, "Edi1", 0},
		// wrapper: jne L; jmp out; L: push [ebp+14h]; ...; call [IAT]
		{"early-exit wrapper", petest.Driver{Machine: petest.X86, EarlyExitTags: []uint32{petest.Tag("Ext1"), petest.Tag("Ext2")}}, "Ext1", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := petest.Build(tt.d)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ScanBytes(tt.name, img, FileLayout)
			if err != nil {
				t.Fatal(err)
			}
			e := d.Evidence(tagValue(tt.tag))
			if e.CallSites != 1 || e.Wrapped != tt.wrapped || len(e.Routines) != 1 || e.Routines[0] != "ExAllocatePoolWithTag" {
				t.Errorf("%s: %+v, want one call site of ExAllocatePoolWithTag (%d wrapped)", tt.tag, e, tt.wrapped)
			}
		})
	}
}

func TestBranchShapesX86Only(t *testing.T) {
	if _, err := petest.Build(petest.Driver{Machine: petest.X64, EarlyExitTags: []uint32{1}}); err == nil {
		t.Error("an x86 shape built for x64")
	}
}
