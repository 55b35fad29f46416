package pe

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pooltag"
)

func TestFixturesUpToDate(t *testing.T) {
	for _, f := range petest.Fixtures() {
		want, err := petest.Build(f.Driver)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		got, err := os.ReadFile(filepath.Join("testdata", f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("testdata/%s differs from the generator: run go generate ./pe", f.Name)
		}
	}
}

func TestSyntheticEvidence(t *testing.T) {
	type want struct {
		tag                       string
		callSites, wrapped, immed int
		protected                 bool
	}
	common := []want{
		{"Tst1", 2, 0, 2, false}, // allocated and freed
		{"Tst2", 2, 0, 2, false},
		{"Prot", 2, 0, 2, true}, // used with the protected bit set
		{"Wrp1", 1, 1, 1, false},
		{"Wrp2", 1, 1, 1, false},
		{"Oth1", 0, 0, 1, false}, // an immediate, but not in the tag argument
	}
	tests := []struct {
		file    string
		machine Machine
		bytes   bool // MOVZ/MOVK pairs split a tag: no byte evidence on ARM64
	}{
		{"contoso_x64.sys", MachineX64, true},
		{"contoso_x86.sys", MachineX86, true},
		{"contoso_arm64.sys", MachineARM64, false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d, err := ScanFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if d.Machine != tt.machine || len(d.Warnings) != 0 {
				t.Fatalf("machine %v warnings %v, want %v and none", d.Machine, d.Warnings, tt.machine)
			}
			for _, w := range common {
				tag := tagValue(w.tag)
				for _, q := range []pooltag.Tag{tag, tag | pooltag.ProtectedBit} {
					e := d.Evidence(q)
					if e.CallSites != w.callSites || e.Wrapped != w.wrapped || e.Immediates != w.immed || e.Protected != w.protected {
						t.Errorf("%s (%#x): %+v, want call sites %d (wrapped %d), immediates %d, protected %v",
							w.tag, q, e, w.callSites, w.wrapped, w.immed, w.protected)
					}
					if tt.bytes && w.tag != "Wrp1" && w.tag != "Wrp2" && e.Bytes == 0 {
						t.Errorf("%s: no byte evidence", w.tag)
					}
				}
			}
			if e := d.Evidence(tagValue("Tst1")); len(e.Routines) != 2 || e.Routines[0] != "ExAllocatePoolWithTag" || e.Routines[1] != "ExFreePoolWithTag" {
				t.Errorf("Tst1 routines %v", e.Routines)
			}
			v := d.Version
			if v.CompanyName != "Contoso Ltd." || v.FileVersion != "2.5.1200.7" || v.OriginalFilename != "contoso.sys" ||
				v.Fixed == nil || v.Fixed.FileVersion != "2.5.1200.7" || v.Fixed.ProductVersion != "2.5.0.0" {
				t.Errorf("version %+v fixed %+v", v, v.Fixed)
			}
			if d.Signature.Embedded || d.Signature.Note != "no embedded signature (may be catalog-signed)" {
				t.Errorf("signature %+v", d.Signature)
			}
			// --list-tags: the tags passed to pool routines, strongest
			// first; immediates alone are weak; no data-only tags.
			var listed, weak []string
			for _, u := range d.Tags() {
				listed = append(listed, u.TagString())
			}
			for _, u := range d.WeakTags() {
				weak = append(weak, u.TagString())
			}
			if len(listed) != 5 || listed[0] != "Prot" && listed[0] != "Tst1" || len(weak) != 1 || weak[0] != "Oth1" {
				t.Errorf("Tags() = %v, WeakTags() = %v, want the five call-site tags, then Oth1 alone", listed, weak)
			}
		})
	}
}

func TestDecoyRanksBelow(t *testing.T) {
	cat, err := Index(context.Background(), []string{"testdata"}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Drivers) != 4 || len(cat.Warnings) != 0 {
		t.Fatalf("%d drivers, warnings %v", len(cat.Drivers), cat.Warnings)
	}
	for _, tt := range []struct {
		tag   string
		first string
		n     int
	}{
		{"Tst1", "contoso_", 4},
		{"Wrp1", "contoso_", 4},
		{"Dcy1", "decoy.sys", 1},
	} {
		c := cat.Find(tagValue(tt.tag))
		if len(c) != tt.n {
			t.Errorf("%s: %d candidates, want %d", tt.tag, len(c), tt.n)
			continue
		}
		if c[0].Kind() != CallSite || !bytes.HasPrefix([]byte(c[0].Driver.Name), []byte(tt.first)) {
			t.Errorf("%s: first candidate %s (%v)", tt.tag, c[0].Driver.Name, c[0].Kind())
		}
		if tt.n == 4 {
			last := c[3]
			if last.Driver.Name != "decoy.sys" || last.Kind() != Bytes {
				t.Errorf("%s: last candidate %s (%v), want decoy.sys with bytes only", tt.tag, last.Driver.Name, last.Kind())
			}
		}
	}
	// The decoy holds Tst1 three times in its data: more bytes than any
	// real user, still ranked last.
	if c := cat.Find(tagValue("Tst1")); c[3].Bytes != 3 || c[0].Bytes >= 3 {
		t.Errorf("byte counts: decoy %d, first %d", c[3].Bytes, c[0].Bytes)
	}
	if c := cat.Find(tagValue("Nope")); len(c) != 0 {
		t.Errorf("Nope: %d candidates, want none", len(c))
	}
	if u := cat.Tags("testdata/decoy.sys"); len(u) != 1 || u[0].TagString() != "Dcy1" {
		t.Errorf("decoy.sys Tags() = %+v, want only Dcy1", u)
	}
}

func TestIndexWantedTags(t *testing.T) {
	cat, err := Index(context.Background(), []string{"testdata"}, IndexOptions{Tags: []pooltag.Tag{tagValue("Wrp2")}, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := cat.Find(tagValue("Wrp2")); len(c) != 3 {
		t.Errorf("Wrp2: %d candidates, want 3", len(c))
	}
	if c := cat.Find(tagValue("Tst1")); len(c) != 0 {
		t.Errorf("Tst1 was not asked for but has %d candidates", len(c))
	}
}

func TestSignature(t *testing.T) {
	ossl, err := exec.LookPath("osslsigncode")
	if err != nil {
		t.Skip("osslsigncode not installed: Authenticode signing not tested")
	}
	dir := t.TempDir()
	cert, key, err := petest.SelfSigned(dir, "Contoso Test Code Signing")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"contoso_x64.sys", "contoso_x86.sys", "contoso_arm64.sys"} {
		t.Run(name, func(t *testing.T) {
			signed := filepath.Join(dir, "signed_"+name)
			if err := petest.Sign(ossl, cert, key, filepath.Join("testdata", name), signed); err != nil {
				t.Fatal(err)
			}
			d, err := ScanFile(signed)
			if err != nil {
				t.Fatal(err)
			}
			s := d.Signature
			if !s.Embedded || s.Signer != "Contoso Test Code Signing" || s.Issuer != "Contoso Test Code Signing" ||
				s.Digest != "SHA-256" || !s.HashMatches || s.Note != "" {
				t.Errorf("signature %+v", s)
			}
			if d.Microsoft {
				t.Error("Microsoft = true for Contoso")
			}
			// Flip one byte of code in a copy: the hash no longer matches.
			b, err := os.ReadFile(signed)
			if err != nil {
				t.Fatal(err)
			}
			text := int(binary.LittleEndian.Uint32(b[0x80+4+20+(map[bool]int{true: 240, false: 224}[name != "contoso_x86.sys"])+20:]))
			b[text+1] ^= 0x40
			d, err = ScanBytes("tampered "+name, b, FileLayout)
			if err != nil {
				t.Fatal(err)
			}
			if d.Signature.HashMatches || d.Signature.Signer != "Contoso Test Code Signing" {
				t.Errorf("after flipping a byte: %+v", d.Signature)
			}
		})
	}
}

// mapImage lays a file-layout image out as the loader would: headers,
// then each section at its VirtualAddress.
func mapImage(t *testing.T, b []byte) []byte {
	t.Helper()
	lfanew := binary.LittleEndian.Uint32(b[0x3C:])
	nsec := int(binary.LittleEndian.Uint16(b[lfanew+6:]))
	opt := lfanew + 24
	optSize := uint32(binary.LittleEndian.Uint16(b[lfanew+20:]))
	sizeOfImage := binary.LittleEndian.Uint32(b[opt+56:])
	sizeOfHeaders := binary.LittleEndian.Uint32(b[opt+60:])
	m := make([]byte, sizeOfImage)
	copy(m, b[:sizeOfHeaders])
	for i := 0; i < nsec; i++ {
		h := b[opt+optSize+uint32(40*i):]
		va, raw, ptr := binary.LittleEndian.Uint32(h[12:]), binary.LittleEndian.Uint32(h[16:]), binary.LittleEndian.Uint32(h[20:])
		copy(m[va:], b[ptr:ptr+raw])
	}
	return m
}

func TestMappedLayout(t *testing.T) {
	for _, name := range []string{"contoso_x64.sys", "contoso_x86.sys", "contoso_arm64.sys"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		fileD, err := ScanBytes(name, b, FileLayout)
		if err != nil {
			t.Fatal(err)
		}
		memD, err := ScanBytes(name, mapImage(t, b), MappedLayout)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, tag := range []string{"Tst1", "Prot", "Wrp1", "Oth1"} {
			f, m := fileD.Evidence(tagValue(tag)), memD.Evidence(tagValue(tag))
			if f.CallSites != m.CallSites || f.Immediates != m.Immediates || f.Wrapped != m.Wrapped {
				t.Errorf("%s %s: file %+v, memory %+v", name, tag, f, m)
			}
		}
		if memD.SHA256 != "" || memD.Signature.Note == "" || memD.Version.CompanyName != "Contoso Ltd." {
			t.Errorf("%s in memory: sha256 %q signature %+v version %+v", name, memD.SHA256, memD.Signature, memD.Version)
		}
		if memD.TimeDateStamp != fileD.TimeDateStamp || memD.SizeOfImage != fileD.SizeOfImage {
			t.Errorf("%s: identity differs between layouts", name)
		}
	}
}
