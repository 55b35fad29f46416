package pe

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// openDump writes a dump with the given modules and opens it.
func openDump(t *testing.T, arch dumpfile.Arch, mods ...dumptest.Module) (*dumpfile.File, []dumpfile.Module) {
	t.Helper()
	b := dumptest.New(dumptest.Config{Arch: arch})
	for _, m := range mods {
		b.AddModule(m)
	}
	return writeDump(t, b)
}

// writeDump writes b's dump and opens it.
func writeDump(t testing.TB, b *dumptest.Builder) (*dumpfile.File, []dumpfile.Module) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "memory.dmp")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := dumpfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	list, err := f.Modules()
	if err != nil {
		t.Fatal(err)
	}
	return f, list
}

func module(t testing.TB, list []dumpfile.Module, name string) dumpfile.Module {
	t.Helper()
	for _, m := range list {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("module %s not in the dump's list", name)
	return dumpfile.Module{}
}

func TestScanLoaded(t *testing.T) {
	tests := []struct {
		name      string
		arch      dumpfile.Arch
		file      string
		pagedOut  []int
		callSites int // Tst1 call sites expected
		warning   string
	}{
		{"x64 whole image", dumpfile.ArchAMD64, "contoso_x64.sys", nil, 2, ""},
		{"x86 whole image", dumpfile.ArchX86PAE, "contoso_x86.sys", nil, 2, ""},
		{"arm64 whole image", dumpfile.ArchARM64, "contoso_arm64.sys", nil, 2, ""},
		{"x64 code paged out", dumpfile.ArchAMD64, "contoso_x64.sys", []int{1}, 0, "1 of 5 image pages not in the dump (1 paged out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := fixture(t, tt.file)
			f, list := openDump(t, tt.arch, dumptest.Module{Name: tt.file, Image: img, PagedOut: tt.pagedOut})
			m := module(t, list, tt.file)
			d, st, err := ScanLoaded(f, m)
			if err != nil {
				t.Fatal(err)
			}
			if st.Pages != 5 || st.Read+st.PagedOut+st.Absent != st.Pages || st.PagedOut != len(tt.pagedOut) {
				t.Errorf("stats %+v, want 5 pages, %d paged out", st, len(tt.pagedOut))
			}
			if e := d.Evidence(tagValue("Tst1")); e.CallSites != tt.callSites {
				t.Errorf("Tst1 %+v, want %d call sites", e, tt.callSites)
			}
			if got := strings.Join(d.Warnings, "; "); tt.warning == "" && got != "" || !strings.Contains(got, tt.warning) {
				t.Errorf("warnings %q, want %q", got, tt.warning)
			}
			if d.Name != tt.file || d.Loaded == nil || d.Loaded.Base != m.Base || d.SHA256 != "" || d.Version.CompanyName != "Contoso Ltd." {
				t.Errorf("driver %+v", d)
			}
		})
	}
}

func TestMarkLoaded(t *testing.T) {
	_, list := openDump(t, dumpfile.ArchAMD64,
		dumptest.Module{Name: "CONTOSO_X64.SYS", Image: fixture(t, "contoso_x64.sys")},
		dumptest.Module{Name: "decoy.sys", TimeDateStamp: 0x5000_0000, Size: 0x3000},
	)
	cat, err := Index(context.Background(), []string{"testdata"}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := cat.MarkLoaded(list); n != 2 {
		t.Fatalf("%d files matched loaded modules, want 2", n)
	}
	for _, tt := range []struct {
		file      string
		same      bool
		note      string
		notLoaded bool
	}{
		{"contoso_x64.sys", true, "same build", false},
		{"decoy.sys", false, "TimeDateStamp file 0x60000003", false},
		{"contoso_x86.sys", false, "", true},
	} {
		d := cat.Driver(filepath.Join("testdata", tt.file))
		if tt.notLoaded {
			if d.Loaded != nil {
				t.Errorf("%s: marked loaded: %+v", tt.file, d.Loaded)
			}
			continue
		}
		if d.Loaded == nil || d.Loaded.SameTimeDateStamp != tt.same || !strings.Contains(d.Loaded.Note, tt.note) {
			t.Errorf("%s: loaded %+v, want same=%v and a note with %q", tt.file, d.Loaded, tt.same, tt.note)
		}
	}
	// A loaded candidate ranks first among equals.
	c := cat.Find(tagValue("Wrp1"))
	if c[0].Driver.Name != "contoso_x64.sys" {
		t.Errorf("first Wrp1 candidate %s, want the loaded contoso_x64.sys", c[0].Driver.Name)
	}
}
