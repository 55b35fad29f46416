package pe

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/poolblame/poolblame/internal/realdata"
	"github.com/poolblame/poolblame/pooltag"
)

// realDrivers is the folder of real, signed drivers kept as evidence, ""
// when the real data is absent (see internal/realdata).
var realDrivers, _ = realdata.Lookup("drivers")

func needRealDrivers(t testing.TB) {
	t.Helper()
	realdata.Path(t, "drivers/systeminformer_amd64.sys")
}

// readPooltagFile reads the tags of a pooltag.txt-format file.
func readPooltagFile(t *testing.T, path string) []pooltag.Tag {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var tags []pooltag.Tag
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, "rem") || len(l) < 4 {
			continue
		}
		tags = append(tags, pooltag.Tag(binary.LittleEndian.Uint32([]byte(l[:4]))))
	}
	return tags
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// Tags of systeminformer.sys that cannot get call-site evidence, and why.
// Checked by hand in the disassembly:
//   - KpI1, KpIS, Kpc2, Kpc3, Kpc4: the tag is stored into a parameter
//     block whose address is passed to the driver's object manager, which
//     initialises a lookaside list from it in a type callback reached
//     through an indirect (control-flow-guard) call.
//   - KpI2: a filter manager stream-handle context; its tag is a field of
//     the FLT_CONTEXT_REGISTRATION table in .rdata, so it is only bytes.
//   - KpU1: defined in pooltags.h but not used by this build: its value
//     occurs nowhere in either file.
var siNoCallSite = map[string]string{
	"KpI1": "object parameter block", "KpIS": "object parameter block",
	"Kpc2": "object parameter block", "Kpc3": "object parameter block", "Kpc4": "object parameter block",
	"KpI2": "FLT_CONTEXT_REGISTRATION data", "KpU1": "absent",
}

func TestSystemInformerTags(t *testing.T) {
	needRealDrivers(t)
	tags := readPooltagFile(t, filepath.Join(realDrivers, "systeminformer-pooltags.txt"))
	if len(tags) != 55 {
		t.Fatalf("read %d tags from systeminformer-pooltags.txt, want 55", len(tags))
	}
	cat, err := Index(context.Background(), []string{realDrivers}, IndexOptions{Tags: tags})
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Drivers) != 4 || len(cat.Warnings) != 0 {
		t.Fatalf("indexed %d drivers with warnings %v, want 4 and none", len(cat.Drivers), cat.Warnings)
	}
	for _, file := range []string{"systeminformer_amd64.sys", "systeminformer_arm64.sys"} {
		t.Run(file, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(realDrivers, file))
			if err != nil {
				t.Fatal(err)
			}
			callSites := 0
			for _, tag := range tags {
				name := tag.String()
				cands := cat.Find(tag)
				why, exempt := siNoCallSite[name]
				if why == "absent" {
					var b [4]byte
					binary.LittleEndian.PutUint32(b[:], uint32(tag))
					if bytes.Contains(raw, b[:]) {
						t.Errorf("%s: now present in the file: expected it to resolve", name)
					}
					if len(cands) != 0 {
						t.Errorf("%s: absent from the files but found in %v", name, cands[0].Driver.Name)
					}
					continue
				}
				if len(cands) == 0 {
					t.Errorf("%s: no candidate at all", name)
					continue
				}
				var mine *Candidate
				for i := range cands {
					if cands[i].Driver.Name == file {
						mine = &cands[i]
					}
				}
				if mine == nil {
					t.Errorf("%s: %s not among the candidates", name, file)
					continue
				}
				if mine.Kind() == CallSite {
					callSites++
					if exempt {
						t.Logf("%s: now has call-site evidence (%s no longer applies)", name, why)
					}
				} else if !exempt {
					t.Errorf("%s: strongest evidence %v in %s, want call-site", name, mine.Kind(), file)
				}
				// Only systeminformer files may hold these tags.
				for _, c := range cands {
					if !strings.HasPrefix(c.Driver.Name, "systeminformer_") {
						t.Errorf("%s: unexpected candidate %s (%v)", name, c.Driver.Name, c.Kind())
					}
				}
			}
			t.Logf("%s: %d of %d tags with call-site evidence", file, callSites, len(tags))
			if callSites < 47 {
				t.Errorf("%s: %d tags with call-site evidence, want at least 47", file, callSites)
			}
		})
	}
}

func TestRealIdentity(t *testing.T) {
	needRealDrivers(t)
	tests := []struct {
		file, sha256, machine            string
		company, product, fileVer, fixed string
		signer, issuer, nested           string
	}{
		{"systeminformer_amd64.sys", "f21030859857e7ce3c7069e4baffbabc921fe15c18b6f63a99e2b7c25b7c1071", "x64",
			"System Informer", "System Informer", "4.0.1", "",
			"Microsoft Windows Hardware Compatibility Publisher", "Microsoft Windows Third Party Component CA 2014", ""},
		{"systeminformer_arm64.sys", "a6adbb0d454dd590e2c5dbb1ede6786066b51b567774034f53fea927e7aa518e", "arm64",
			"System Informer", "System Informer", "4.0.1", "",
			"Microsoft Windows Hardware Compatibility Publisher", "Microsoft Windows Third Party Component CA 2014", ""},
		{"winpmem_x64.sys", "b1b866f7cf86bd2bbbd8beca081e9df836911d938fd129cd615cfcb04399212b", "x64",
			"", "", "", "", "Binalyze LLC", "GlobalSign CodeSigning CA - G3", "Microsoft Windows Hardware Compatibility Publisher"},
		{"winpmem_x86.sys", "5e9845dafb60e76710efac28539159cb2cd624db966aae9b1200deabd2871b6c", "x86",
			"", "", "", "", "Binalyze LLC", "GlobalSign CodeSigning CA - G3", "Microsoft Windows Hardware Compatibility Publisher"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join(realDrivers, tt.file)
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ScanFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if d.SHA256 != tt.sha256 || d.Machine.String() != tt.machine || d.Size != int64(len(raw)) {
				t.Errorf("sha256 %s machine %v size %d, want %s %s %d", d.SHA256, d.Machine, d.Size, tt.sha256, tt.machine, len(raw))
			}
			v := d.Version
			if v.CompanyName != tt.company || v.ProductName != tt.product || v.FileVersion != tt.fileVer {
				t.Errorf("version %+v, want company %q product %q file version %q", v, tt.company, tt.product, tt.fileVer)
			}
			if tt.company == "" {
				if v.Note != "no version resource" || v.Fixed != nil {
					t.Errorf("no version resource expected, got note %q fixed %v", v.Note, v.Fixed)
				}
			} else {
				// The strings must be in the file as UTF-16, as a resource
				// editor shows them.
				for _, s := range []string{v.CompanyName, v.FileDescription, v.LegalCopyright} {
					if !bytes.Contains(raw, utf16le(s)) {
						t.Errorf("%q is not in the file as UTF-16", s)
					}
				}
				if v.Fixed == nil || !strings.HasPrefix(v.Fixed.FileVersion, "4.0.1") {
					t.Errorf("VS_FIXEDFILEINFO %+v, want file version 4.0.1.x", v.Fixed)
				}
			}
			s := d.Signature
			if !s.Embedded || s.Signer != tt.signer || s.Issuer != tt.issuer || !s.HashMatches {
				t.Errorf("signature %+v, want signer %q issuer %q, hash matching", s, tt.signer, tt.issuer)
			}
			if !bytes.Contains(raw, []byte(s.Signer)) || !bytes.Contains(raw, []byte(s.Issuer)) {
				t.Errorf("signer %q or issuer %q not in the certificate bytes", s.Signer, s.Issuer)
			}
			if tt.nested != "" && (len(s.Nested) != 1 || s.Nested[0] != tt.nested) {
				t.Errorf("nested signers %v, want [%s]", s.Nested, tt.nested)
			}
			if d.Microsoft {
				t.Errorf("Microsoft = true for a third-party driver signed through the hardware dashboard")
			}
			// System Informer is built with /Brepro: its TimeDateStamp is a
			// hash (one of them lies in 2080).
			if want := strings.HasPrefix(tt.file, "systeminformer"); d.Reproducible != want {
				t.Errorf("Reproducible = %v, want %v", d.Reproducible, want)
			}
		})
	}
}

func TestWinpmemTag(t *testing.T) {
	needRealDrivers(t)
	pmem := pooltag.Tag(binary.LittleEndian.Uint32([]byte("PMEM")))
	cat, err := Index(context.Background(), []string{realDrivers}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cands := cat.Find(pmem)
	if len(cands) != 2 {
		t.Fatalf("PMEM: %d candidates, want winpmem_x64.sys and winpmem_x86.sys", len(cands))
	}
	for _, c := range cands {
		if !strings.HasPrefix(c.Driver.Name, "winpmem_") || c.Kind() != CallSite {
			t.Errorf("PMEM candidate %s with %v evidence, want a winpmem driver with call-site evidence", c.Driver.Name, c.Kind())
		}
		if len(c.Routines) == 0 || c.Routines[0] != "ExAllocatePoolWithTag" {
			t.Errorf("PMEM routines %v, want ExAllocatePoolWithTag", c.Routines)
		}
	}
	// Reverse lookup: the tags winpmem's code uses.
	uses := cat.Tags(filepath.Join(realDrivers, "winpmem_x86.sys"))
	got := map[string]EvidenceKind{}
	for _, u := range uses {
		got[u.TagString()] = u.Kind()
	}
	for _, want := range []string{"PMEM", "FSPT"} {
		if got[want] != CallSite {
			t.Errorf("--list-tags winpmem_x86.sys: %s is %v, want call-site (got %v)", want, got[want], got)
		}
	}
	// Its INIT and PAGE sections hold import names and debug messages
	// among the code; none of that may be listed as a tag. The other five
	// tags come from the WDK's static libraries (SeAl, SeSd, SeTs from
	// wdmsec, PpRb, PpUc).
	if len(uses) != 7 {
		t.Errorf("--list-tags winpmem_x86.sys listed %d tags, want the 7 call-site ones: %v", len(uses), got)
	}
}
