package damage_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/poolblame/poolblame/pool/damage"
	"github.com/poolblame/poolblame/pooltag"
)

// TestDoesNotApply: a kind with nothing to change in a dump says so with
// ErrDoesNotApply; one that applies, and one that fails on a file that
// is no dump, do not.
func TestDoesNotApply(t *testing.T) {
	win11, err := os.ReadFile(filepath.Join("..", "..", "testdata", "win11-x64-ctfl.dmp"))
	if err != nil {
		t.Fatal(err)
	}
	junk := make([]byte, 8192)
	tests := []struct {
		name    string
		dump    []byte
		kind    string
		at      string
		wantErr bool
		notHere bool // the error is ErrDoesNotApply
	}{
		{"bug check already 0x19", win11, "bugcheck-pool-corruption", "", true, true},
		{"tag the table does not hold", win11, "tracker-key-overwritten", "Qqqq", true, true},
		{"applies", win11, "cpus-zero", "", false, false},
		{"not a dump", junk, "cpus-zero", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, ok := damage.ByName(tt.kind)
			if tt.at != "" {
				k, ok = damage.At(tt.kind, pooltag.MustTag(tt.at))
			}
			if !ok {
				t.Fatalf("no damage kind %q", tt.kind)
			}
			_, err := damage.Apply("sample.dmp", tt.dump, k)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Apply: %v, want an error: %v", err, tt.wantErr)
			}
			if got := errors.Is(err, damage.ErrDoesNotApply); got != tt.notHere {
				t.Errorf("Apply: %v: ErrDoesNotApply %v, want %v", err, got, tt.notHere)
			}
		})
	}
}
