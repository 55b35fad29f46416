package pe

import (
	"fmt"
	"strings"

	peparser "github.com/saferwall/pe"
)

// PDB is the program database a driver was linked with, as the CodeView
// record of its debug directory (RSDS, PDB 7.0) names it: the path the
// linker wrote, and the GUID and age a symbol server files it under.
//
// The path is free text the linker copies from its command line: it
// identifies a build, never its maker. Microsoft's own images carry a
// bare file name ("tcpip.pdb"); third-party drivers often keep the path
// of the vendor's build tree ("d:\src\isil\objfre_wnet_x86\i386\isil.pdb").
type PDB struct {
	Path string `json:"path"`
	GUID string `json:"guid"` // {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}
	Age  uint32 `json:"age"`
}

// pdbOf reads saferwall's CodeView record; the path ends at its NUL.
func pdbOf(cv peparser.CVInfoPDB70) *PDB {
	name, _, _ := strings.Cut(cv.PDBFileName, "\x00")
	name = strings.TrimSpace(name)
	if name == "" {
		return nil
	}
	g := cv.Signature
	return &PDB{
		Path: name,
		GUID: fmt.Sprintf("{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}", g.Data1, g.Data2, g.Data3,
			g.Data4[0], g.Data4[1], g.Data4[2], g.Data4[3], g.Data4[4], g.Data4[5], g.Data4[6], g.Data4[7]),
		Age: cv.Age,
	}
}

// Base is the PDB's file name, without drive or folders.
func (p *PDB) Base() string {
	return p.Path[strings.LastIndexAny(p.Path, `\/:`)+1:]
}

// Bare reports a path that is only a file name: how Microsoft ships its
// own images' records.
func (p *PDB) Bare() bool { return !strings.ContainsAny(p.Path, `\/:`) }

// NamesImage reports a PDB named after the image (tcpip.sys, tcpip.pdb).
func (p *PDB) NamesImage(image string) bool {
	stem := func(s string) string {
		s = strings.ToLower(s)
		if i := strings.LastIndexByte(s, '.'); i > 0 {
			return s[:i]
		}
		return s
	}
	return stem(p.Base()) == stem(image)
}

// MicrosoftStyle is the weak hint a PDB record gives of a Microsoft
// image: a bare file name named after the image. Anyone can link with
// such a path, so it only ever adds to other evidence (see analysis).
func (p *PDB) MicrosoftStyle(image string) bool {
	return p != nil && p.Bare() && p.NamesImage(image)
}
