package pe

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/poolblame/poolblame/pe/petest"
)

func TestPDBPathShapes(t *testing.T) {
	tests := []struct {
		path, image string
		bare, names bool
	}{
		{"tcpip.pdb", "tcpip.sys", true, true},
		{"ACPI.pdb", "acpi.sys", true, true},
		{"ntkrnlmp.pdb", "ntoskrnl.exe", true, false}, // the kernel's PDB names its build, not its file
		{`d:\src\isil\objfre_wnet_x86\i386\isil.pdb`, "isil.sys", false, true},
		{"F:/projects/WinPmem/kernel/x64/Release/winpmem.pdb", "winpmem_x64.sys", false, false},
		{"C:isil.pdb", "isil.sys", false, true},
	}
	for _, tt := range tests {
		p := &PDB{Path: tt.path}
		if p.Bare() != tt.bare || p.NamesImage(tt.image) != tt.names || p.MicrosoftStyle(tt.image) != (tt.bare && tt.names) {
			t.Errorf("%q for %s: bare %v, names image %v, Microsoft style %v", tt.path, tt.image, p.Bare(), p.NamesImage(tt.image), p.MicrosoftStyle(tt.image))
		}
	}
	var none *PDB
	if none.MicrosoftStyle("x.sys") {
		t.Error("no record gives a Microsoft hint")
	}
}

// TestPDBRecord: the CodeView record petest writes (stated in petest from
// winnt.h) is read back from the file and from the image as mapped.
func TestPDBRecord(t *testing.T) {
	want := petest.PDB{Path: `d:\src\isil\objfre_wnet_x86\i386\isil.pdb`, Age: 3,
		GUID: [16]byte{0x78, 0x56, 0x34, 0x12, 0x34, 0x12, 0x78, 0x56, 0x9A, 0xBC, 0xDE, 0xF0, 0x01, 0x02, 0x03, 0x04}}
	for _, m := range []uint16{petest.X86, petest.X64, petest.ARM64} {
		for _, ver := range []*petest.Version{nil, {CompanyName: "Intersil Corporation", FileVersion: [4]uint16{3, 1, 2, 0}}} {
			img, err := petest.Build(petest.Driver{Machine: m, AllocTags: []uint32{petest.Tag("ISil")}, PDB: &want, Version: ver})
			if err != nil {
				t.Fatal(err)
			}
			for _, layout := range []Layout{FileLayout, MappedLayout} {
				b := img
				if layout == MappedLayout {
					b = mapImage(t, img)
				}
				d, err := ScanBytes("isil.sys", b, layout)
				if err != nil {
					t.Fatal(err)
				}
				if d.PDB == nil || d.PDB.Path != want.Path || d.PDB.Age != 3 || d.PDB.GUID != "{12345678-1234-5678-9ABC-DEF001020304}" {
					t.Errorf("machine %#x, version %v, layout %v: PDB %+v", m, ver != nil, layout, d.PDB)
				}
			}
		}
	}
	img, err := petest.Build(petest.Driver{Machine: petest.X64})
	if err != nil {
		t.Fatal(err)
	}
	if d, err := ScanBytes("none.sys", img, FileLayout); err != nil || d.PDB != nil {
		t.Errorf("no debug directory: PDB %+v, %v", d.PDB, err)
	}
}

// TestPDBRealDrivers: the real drivers' records. Third-party open-source
// drivers keep their build tree's path; Microsoft's inbox drivers in
// saferwall's test folder carry a bare name, as do the AMD drivers
// Windows ships, which is why a bare name is never alone a Microsoft
// owner.
func TestPDBRealDrivers(t *testing.T) {
	needRealDrivers(t)
	for name, want := range map[string]string{
		"winpmem_x64.sys":          `F:\projects\WinPmem\kernel\x64\Release\winpmem.pdb`,
		"winpmem_x86.sys":          `F:\projects\WinPmem\kernel\Release\winpmem.pdb`,
		"systeminformer_amd64.sys": `C:\Users\aione\source\repos\systeminformer\KSystemInformer\bin\Release64\SystemInformer.pdb`,
	} {
		d, err := ScanFile(filepath.Join(realDrivers, name))
		if err != nil {
			t.Fatal(err)
		}
		if d.PDB == nil || d.PDB.Path != want || d.PDB.Bare() || d.PDB.MicrosoftStyle(name) || len(d.PDB.GUID) != 38 {
			t.Errorf("%s: PDB %+v, want %s, not Microsoft style", name, d.PDB, want)
		}
	}
}

func TestPDBInboxDrivers(t *testing.T) {
	dir := saferwallTestDir(t)
	for name, ms := range map[string]bool{"acpi.sys": true, "WdBoot.sys": true, "amdxata.sys": false, "amdi2c.sys": false} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Skipf("%s: %v", name, err)
		}
		d, err := ScanFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !d.PDB.MicrosoftStyle(name) {
			t.Errorf("%s: PDB %+v, want a bare name after the image", name, d.PDB)
		}
		if d.Microsoft != ms {
			t.Errorf("%s: Microsoft %v (company %q), want %v: the PDB record must not decide", name, d.Microsoft, d.Version.CompanyName, ms)
		}
	}
}
