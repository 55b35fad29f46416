package analysis

import (
	"strings"
	"testing"

	"github.com/poolblame/poolblame/internal/realdata"
	"github.com/poolblame/poolblame/pe"
)

func TestInboxImage(t *testing.T) {
	tests := []struct {
		path, name string
		want       bool
	}{
		{`dump:\SystemRoot\system32\ntoskrnl.exe`, "ntoskrnl.exe", true},
		{`dump:\SystemRoot\system32\ntkrnlpa.exe`, "ntkrnlpa.exe", true},
		{`dump:\SystemRoot\system32\hal.dll`, "hal.dll", true},
		{`dump:\SystemRoot\System32\kdcom.dll`, "kdcom.dll", true},
		{`dump:\SystemRoot\system32\CI.dll`, "CI.dll", true},
		{`dump:\??\C:\Windows\system32\ntoskrnl.exe`, "", true}, // kernel name in an odd path
		{`dump:\SystemRoot\system32\DRIVERS\contosoflt.sys`, "contosoflt.sys", false},
		{`dump:\SystemRoot\system32\drivers\tcpip.sys`, "tcpip.sys", false}, // by its resource, not its folder
		{`dump:\??\C:\Program Files\Vendor\vdrv.sys`, "vdrv.sys", false},
		{`\SystemRoot\system32\evil\ntoskrnl.sys`, "ntoskrnl.sys", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := inboxImage(tt.path, tt.name); got != tt.want {
			t.Errorf("inboxImage(%q, %q) = %v, want %v", tt.path, tt.name, got, tt.want)
		}
	}
}

// A file where the tag only appears as text is never an owner: it is
// counted apart, beside call-site evidence or alone.
func TestSplitTextOnly(t *testing.T) {
	cs := []Candidate{
		{Name: "real.sys", Evidence: pe.Evidence{CallSites: 2, Immediates: 2, Bytes: 2}},
		{Name: "words.sys", Evidence: pe.Evidence{Bytes: 3}},
		{Name: "imm.sys", Evidence: pe.Evidence{Immediates: 1, Bytes: 1}},
		{Name: "also.sys", Evidence: pe.Evidence{Bytes: 1}},
		{Name: "noted.sys", Source: FromPooltag},
	}
	kept, text := splitTextOnly(cs)
	var names []string
	for _, c := range kept {
		names = append(names, c.Name)
	}
	if strings.Join(names, " ") != "real.sys imm.sys noted.sys" || strings.Join(text, " ") != "words.sys also.sys" {
		t.Errorf("kept %q, text only %q", names, text)
	}
	if kept, text := splitTextOnly([]Candidate{{Name: "event.sys", Evidence: pe.Evidence{Bytes: 9}}}); len(kept) != 0 || len(text) != 1 {
		t.Errorf("bytes alone: kept %+v, text %q", kept, text)
	}
}

// Images read from the dump without a version resource: the kernel, the
// HAL and images loaded from system32 itself are Microsoft's; a driver in
// system32\drivers, or one whose resource names another company, is not
// judged by its folder.
func TestDumpImageOwner(t *testing.T) {
	tests := []struct {
		name, path, company string
		src                 CandidateSource
		want                Owner
	}{
		{"ntoskrnl.exe", `dump:\SystemRoot\system32\ntoskrnl.exe`, "", FromDumpImage, OwnerMicrosoft},
		{"hal.dll", `dump:\SystemRoot\system32\hal.dll`, "", FromDumpImage, OwnerMicrosoft},
		{"kdcom.dll", `dump:\SystemRoot\system32\kdcom.dll`, "", FromDumpImage, OwnerMicrosoft},
		{"contosoflt.sys", `dump:\SystemRoot\system32\DRIVERS\contosoflt.sys`, "", FromDumpImage, OwnerThirdParty},
		{"ntoskrnl.exe", `dump:\SystemRoot\system32\ntoskrnl.exe`, "Not Microsoft Ltd.", FromDumpImage, OwnerThirdParty},
		{"ntoskrnl.exe", `drv/ntoskrnl.exe`, "", FromFolder, OwnerThirdParty}, // a file: its signature decides
	}
	for _, tt := range tests {
		d := &pe.Driver{Name: tt.name, Path: tt.path}
		d.Version.CompanyName = tt.company
		if got := fromDriver(d, pe.Evidence{CallSites: 1}, tt.src).Owner; got != tt.want {
			t.Errorf("%s from %v (%q): %v, want %v", tt.path, tt.src, tt.company, got, tt.want)
		}
	}
}

// The real Windows 10 1809 module list: the kernel, the HAL and kdcom.dll
// are recognised by where the loader loaded them; drivers are not judged
// by their folder.
func TestInboxImageRealModules(t *testing.T) {
	f := realdata.RewindFile(t, "a")
	mods, err := f.Modules()
	if len(mods) < 150 {
		t.Fatalf("%d modules (%v)", len(mods), err)
	}
	inbox := map[string]bool{}
	for _, m := range mods {
		inbox[strings.ToLower(m.Name)] = inboxImage("dump:"+m.Path, m.Name)
	}
	for _, n := range []string{"ntoskrnl.exe", "hal.dll", "kdcom.dll"} {
		if !inbox[n] {
			t.Errorf("%s not recognised as Windows' own", n)
		}
	}
	for _, n := range []string{"nvlddmkm.sys", "ntfs.sys", "tcpip.sys"} {
		if v, ok := inbox[n]; !ok || v {
			t.Errorf("%s: in list %v, judged inbox by path %v", n, ok, v)
		}
	}
}

// TestPDBOwnerHint: a PDB record as Microsoft writes its own adds to the
// load path in system32\drivers to make an image read from the dump
// Microsoft's; neither does alone, and a file from a folder is never
// judged by it.
func TestPDBOwnerHint(t *testing.T) {
	bare := &pe.PDB{Path: "wdfilter.pdb"}
	tree := &pe.PDB{Path: `d:\build\wdfilter\x64\release\wdfilter.pdb`}
	tests := []struct {
		path    string
		pdb     *pe.PDB
		src     CandidateSource
		company string
		want    Owner
	}{
		{`\SystemRoot\system32\drivers\wd\WdFilter.sys`, bare, FromDumpImage, "", OwnerMicrosoft},
		{`\SystemRoot\System32\drivers\WdFilter.sys`, bare, FromDumpImage, "", OwnerMicrosoft},
		{`\SystemRoot\system32\drivers\WdFilter.sys`, tree, FromDumpImage, "", OwnerThirdParty},
		{`\SystemRoot\system32\drivers\WdFilter.sys`, nil, FromDumpImage, "", OwnerThirdParty},
		{`\??\C:\Program Files\Vendor\WdFilter.sys`, bare, FromDumpImage, "", OwnerThirdParty},
		{"WdFilter.sys", bare, FromDumpImage, "", OwnerThirdParty}, // no path: the PDB alone
		{`drivers/WdFilter.sys`, bare, FromFolder, "", OwnerThirdParty},
		{`\SystemRoot\system32\drivers\WdFilter.sys`, bare, FromDumpImage, "Contoso Ltd.", OwnerThirdParty},
	}
	for _, tt := range tests {
		d := &pe.Driver{Name: "WdFilter.sys", Path: tt.path, PDB: tt.pdb, Version: pe.VersionInfo{CompanyName: tt.company}}
		c := fromDriver(d, pe.Evidence{}, tt.src)
		if c.Owner != tt.want || (c.Identity.OwnerHint != "") != (tt.want == OwnerMicrosoft) {
			t.Errorf("%s, PDB %v, %v, company %q: owner %v (hint %q), want %v", tt.path, tt.pdb, tt.src, tt.company, c.Owner, c.Identity.OwnerHint, tt.want)
		}
		if c.Identity.PDB != tt.pdb {
			t.Errorf("%s: identity PDB %v, want %v", tt.path, c.Identity.PDB, tt.pdb)
		}
	}
}

// TestPDBOwnerRealModules: in the real Windows 10 1809 memory, Windows
// Defender's WdFilter.sys (no version resource in memory, loaded from
// system32\drivers\wd, PDB "WdFilter.pdb") is Microsoft's by the two hints
// together; cng.sys, whose loader path is not in the dump, stays
// unjudged by its bare PDB name alone.
func TestPDBOwnerRealModules(t *testing.T) {
	f := realdata.RewindFile(t, "a")
	mods, _ := f.Modules()
	want := map[string]Owner{"WdFilter.sys": OwnerMicrosoft, "cng.sys": OwnerThirdParty, "ntoskrnl.exe": OwnerMicrosoft}
	seen := 0
	for _, m := range mods {
		w, ok := want[m.Name]
		if !ok {
			continue
		}
		seen++
		dr, _, err := pe.ScanLoaded(f, m)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		c := fromDriver(dr, pe.Evidence{}, FromDumpImage)
		if c.Owner != w || c.Identity.PDB == nil || !c.Identity.PDB.MicrosoftStyle(strings.Replace(m.Name, "ntoskrnl.exe", "ntkrnlmp.exe", 1)) {
			t.Errorf("%s (%q): owner %v, PDB %+v, want %v and a bare PDB name", m.Name, m.Path, c.Owner, c.Identity.PDB, w)
		}
	}
	if seen != len(want) {
		t.Errorf("%d of %d modules in the list", seen, len(want))
	}
}
