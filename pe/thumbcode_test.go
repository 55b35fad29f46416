package pe

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pooltag"
)

// TestThumbImmediates: an ARM32 image yields the constants its code builds
// (MOVW/MOVT pairs, literal loads) as immediates, never call sites, and
// says plainly that its calls are not followed, in a folder index too.
func TestThumbImmediates(t *testing.T) {
	img, err := petest.Build(petest.Driver{Machine: petest.ARMNT,
		AllocTags: []uint32{petest.Tag("Arm1"), petest.Tag("Arm2")}, OtherArgTags: []uint32{petest.Tag("Lit1")}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "arm32.sys")
	if err := os.WriteFile(path, img, 0o444); err != nil {
		t.Fatal(err)
	}
	d, err := ScanFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.Machine != MachineARMNT || d.Machine.String() != "arm (Thumb-2)" || len(d.Warnings) != 1 || d.Warnings[0] != ThumbNote {
		t.Fatalf("machine %v, warnings %q", d.Machine, d.Warnings)
	}
	for _, tt := range []struct {
		tag   string
		bytes int
	}{{"Arm1", 0}, {"Arm2", 0}, {"Lit1", 1}} {
		e := d.Evidence(tagValue(tt.tag))
		if e.Kind() != Immediate || e.Immediates != 1 || e.Bytes != tt.bytes {
			t.Errorf("%s: %+v, want one immediate and %d byte hits", tt.tag, e, tt.bytes)
		}
	}
	if len(d.Tags()) != 0 || len(d.WeakTags()) != 3 {
		t.Errorf("Tags %v WeakTags %v, want no call-site tags and three weak ones", d.Tags(), d.WeakTags())
	}
	cat, err := Index(context.Background(), []string{dir}, IndexOptions{Tags: []pooltag.Tag{tagValue("Arm2")}})
	if err != nil {
		t.Fatal(err)
	}
	if c := cat.Find(tagValue("Arm2")); len(c) != 1 || c[0].Kind() != Immediate || len(c[0].Driver.Warnings) != 1 || c[0].Driver.Warnings[0] != ThumbNote {
		t.Errorf("index for Arm2: %+v", c)
	}
}
