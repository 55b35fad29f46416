package dumpfile_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// A session's page directory maps session space, which the kernel's does
// not: reads through Space see it, the file's own reads do not, and a
// ranged walk reports only what lies in its range.
func TestSpace(t *testing.T) {
	for _, c := range []struct {
		arch  dumpfile.Arch
		build uint32
	}{{dumpfile.ArchX86, 3790}, {dumpfile.ArchX86PAE, 3790}, {dumpfile.ArchAMD64, 7601}} {
		t.Run(c.arch.String(), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: c.arch, Build: c.build, Seed: 5})
			table := bytes.Repeat([]byte("Gh05"), 8)
			info := b.AddSession(dumptest.Session{ID: 2, Processes: []string{"csrss.exe"}, Tracker: table})
			f := openBuilder(t, b, "s.dmp")
			if _, err := f.ReadU32(info.Tracker); !errors.Is(err, dumpfile.ErrNotMapped) {
				t.Errorf("kernel read of session space: %v, want not mapped", err)
			}
			sp, err := f.Space(info.DTB)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(table))
			if _, err := sp.ReadVirtual(info.Tracker, got); err != nil || !bytes.Equal(got, table) {
				t.Errorf("session read: %q, %v", got, err)
			}
			want, _ := f.Translate(info.Struct)
			if pa, err := sp.Translate(info.Space); err != nil || pa != want {
				t.Errorf("session structure at %#x: %#x, %v; want the global mapping's %#x", info.Space, pa, err, want)
			}
			var vas []uint64
			if _, err := sp.Mappings(info.Tracker, info.Tracker+dumptest.PageSize-1, func(m dumpfile.Mapping) bool {
				vas = append(vas, m.VA)
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if len(vas) != 1 || vas[0] != info.Tracker {
				t.Errorf("ranged walk: %#x, want only %#x", vas, info.Tracker)
			}
			if _, err := f.Space(0x7FFFF000); !errors.Is(err, dumpfile.ErrPageAbsent) {
				t.Errorf("Space of an absent root: %v", err)
			}
		})
	}
}
