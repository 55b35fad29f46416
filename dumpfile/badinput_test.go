package dumpfile_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

func validBitmapDump(t testing.TB) []byte {
	t.Helper()
	b, _ := buildPlanted(t, archCases[2], dumpfile.TypeBitmapFull, nil)
	raw, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func damaged(t testing.TB, typ dumpfile.DumpType, d dumptest.Damage) []byte {
	t.Helper()
	b, _ := buildPlanted(t, archCases[2], typ, func(c *dumptest.Config) { c.Damage = d })
	raw, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// Every bad input gives one line naming the file and the problem.
func TestBadInputOpen(t *testing.T) {
	valid := validBitmapDump(t)
	mdmp := append([]byte("MDMP\x93\xa7\x00\x00"), make([]byte, 100)...)
	badValid := append([]byte("PAGEXXXX"), make([]byte, 0x3000)...)
	unknownType := append([]byte(nil), valid...)
	binary.LittleEndian.PutUint32(unknownType[0xF98:], 77)
	badMachine := append([]byte(nil), valid...)
	binary.LittleEndian.PutUint32(badMachine[0x30:], 0x1234)
	badRuns := append([]byte(nil), damaged(t, dumpfile.TypeFull, dumptest.Damage{})...)
	binary.LittleEndian.PutUint64(badRuns[0x88+8:], 12345) // NumberOfPages disagrees with the runs
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty file"},
		{"text", []byte("hello, this is not a dump at all"), "not a Windows crash dump"},
		{"minidump", mdmp, "user-mode minidump (MDMP)"},
		{"short", []byte("PAGE"), "truncated header"},
		{"truncated header", valid[:0x1800], "truncated header"},
		{"bad ValidDump", badValid, "ValidDump"},
		{"unknown dump type", unknownType, "unknown dump type"},
		{"unknown machine", badMachine, "MachineImageType"},
		{"bitmap counts disagree", damaged(t, dumpfile.TypeBitmapFull, dumptest.Damage{BitmapCountMismatch: true}), "bitmap counts disagree"},
		{"runs disagree", badRuns, "NumberOfPages"},
		{"bitmap cut", valid[:0x2100], "bitmap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dumpfile.NewFile("bad.dmp", dumpfile.Bytes(tt.data), int64(len(tt.data)))
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "bad.dmp: ") || !strings.Contains(msg, tt.want) || strings.Contains(msg, "\n") {
				t.Errorf("error %q: want one line naming the file and %q", msg, tt.want)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := dumpfile.Open(dir); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	if _, err := dumpfile.Open(filepath.Join(dir, "missing.dmp")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	p := filepath.Join(dir, "x.dmp")
	raw := validBitmapDump(t)
	if err := os.WriteFile(p, raw, 0o444); err != nil {
		t.Fatal(err)
	}
	f, err := dumpfile.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if f.Size() != int64(len(raw)) {
		t.Errorf("size %d", f.Size())
	}
	if err := f.Close(); err != nil {
		t.Error(err)
	}
	// The file is evidence: opening and reading it never changes it.
	after, _ := os.ReadFile(p)
	if string(after) != string(raw) {
		t.Error("file changed by reading it")
	}
}

// Truncated page data and runs past the end give a partial dump that
// says what is missing, not an error.
func TestTruncatedPages(t *testing.T) {
	tests := []struct {
		name     string
		typ      dumpfile.DumpType
		d        dumptest.Damage
		cutAfter bool // cut one page after the first stored page
		warn     string
	}{
		{"bitmap cut after its header", dumpfile.TypeBitmapFull, dumptest.Damage{}, true, "truncated"},
		{"runs cut after the header", dumpfile.TypeFull, dumptest.Damage{Truncate: 0x2000}, false, "truncated"},
		{"run past the end", dumpfile.TypeFull, dumptest.Damage{RunPastEnd: true}, false, "past the end of the file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := damaged(t, tt.typ, tt.d)
			if tt.cutAfter {
				whole, err := dumpfile.NewFile("x", dumpfile.Bytes(raw), int64(len(raw)))
				if err != nil {
					t.Fatal(err)
				}
				raw = raw[:whole.Bitmap.FirstPage+dumpfile.PageSize]
			}
			f, err := dumpfile.NewFile("cut.dmp", dumpfile.Bytes(raw), int64(len(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if !hasWarning(f, tt.warn) {
				t.Fatalf("warnings %q lack %q", f.Warnings, tt.warn)
			}
			if tt.cutAfter || tt.d.Truncate != 0 {
				_, err := f.KDBG()
				if err == nil {
					t.Errorf("KDBG read from a dump cut before its pages")
				}
				_, err = f.ReadVirtual(f.PsLoadedModuleList, make([]byte, 8))
				if !errors.Is(err, dumpfile.ErrTruncated) {
					t.Errorf("read in the cut part: %v, want ErrTruncated", err)
				}
			}
		})
	}
}

func TestDamagedModuleList(t *testing.T) {
	tests := []struct {
		name string
		d    dumptest.Damage
		want string
	}{
		{"loop", dumptest.Damage{ModuleListLoop: true}, "loops"},
		{"bad pointer", dumptest.Damage{ModuleBadPointer: true}, "unreadable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := buildPlanted(t, archCases[2], dumpfile.TypeBitmapFull, func(c *dumptest.Config) { c.Damage = tt.d })
			for i := 0; i < 3; i++ {
				b.AddModule(dumptest.Module{Name: "extra" + string(rune('a'+i)) + ".sys"})
			}
			f := openBuilder(t, b, "mods.dmp")
			mods, err := f.Modules()
			if !errors.Is(err, dumpfile.ErrModuleList) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want ErrModuleList with %q", err, tt.want)
			}
			if len(mods) == 0 || len(mods) > 5 {
				t.Errorf("%d modules before the damage", len(mods))
			}
		})
	}
}

// A bad machine or dump type is reported at the field's own offset in the
// header of the dump's width (literal offsets from mindumpdef.h, not the
// package's table).
func TestBadHeaderFieldOffset(t *testing.T) {
	for _, tt := range []struct {
		name   string
		arch   archCase
		typ    dumpfile.DumpType
		field  string
		off    int64
		value  uint32
		inText string
	}{
		{"x86 machine", archCases[0], dumpfile.TypeFull, "MachineImageType", 0x20, 0x1234, "unknown machine"},
		{"x64 machine", archCases[2], dumpfile.TypeBitmapFull, "MachineImageType", 0x30, 0x1234, "unknown machine"},
		{"x64 machine of the other width", archCases[2], dumpfile.TypeBitmapFull, "MachineImageType", 0x30, 0x14C, "does not match the 64-bit header"},
		{"x86 dump type", archCases[0], dumpfile.TypeFull, "DumpType", 0xF88, 77, "unknown dump type"},
		{"x64 dump type", archCases[2], dumpfile.TypeBitmapFull, "DumpType", 0xF98, 77, "unknown dump type"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := buildPlanted(t, tt.arch, tt.typ, nil)
			raw, err := b.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			binary.LittleEndian.PutUint32(raw[tt.off:], tt.value)
			_, err = dumpfile.NewFile("bad.dmp", dumpfile.Bytes(raw), int64(len(raw)))
			var fe *dumpfile.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v, want a FormatError", err)
			}
			if fe.Field != tt.field || fe.Off != tt.off || !strings.Contains(err.Error(), tt.inText) {
				t.Errorf("FormatError %s at %#x (%v), want %s at %#x saying %q", fe.Field, fe.Off, err, tt.field, tt.off, tt.inText)
			}
		})
	}
}
