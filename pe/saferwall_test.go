package pe

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/pooltag"
)

// saferwallTestDir returns the test folder of the saferwall/pe module,
// which ships real drivers (acpi.sys, WdBoot.sys, amdxata.sys, amdi2c.sys)
// and other PE files.
func saferwallTestDir(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com", "saferwall", "pe@v1.6.5", "test")
	if _, err := os.Stat(filepath.Join(dir, "acpi.sys")); err != nil {
		t.Skipf("saferwall/pe test drivers not in the module cache: %s: %v", dir, err)
	}
	return dir
}

func TestSaferwallDrivers(t *testing.T) {
	dir := saferwallTestDir(t)
	start := time.Now()
	cat, err := Index(context.Background(), []string{dir}, IndexOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("indexed %d files, %d PE images, %d warnings in %v", cat.Files, len(cat.Drivers), len(cat.Warnings), time.Since(start))
	for _, w := range cat.Warnings {
		t.Logf("warning: %v", w)
	}
	if len(cat.Drivers) < 20 {
		t.Fatalf("only %d PE images found in %s", len(cat.Drivers), dir)
	}
	// acpi.sys 10.0.18362.1 allocates with these tags; each must name
	// acpi.sys first, from a call site.
	for _, name := range []string{"AcpA", "AcpB", "AcpD", "AcpE", "AcpF", "AcpI", "AcpL", "AcpM", "AcpO",
		"AcpP", "AcpR", "AcpS", "AcpT", "AcpX", "Acpg", "Acpi", "Acpt"} {
		cands := cat.Find(tagValue(name))
		if len(cands) == 0 {
			t.Errorf("%s: not found", name)
			continue
		}
		if c := cands[0]; c.Driver.Name != "acpi.sys" || c.Kind() != CallSite {
			t.Errorf("%s: first candidate %s (%v), want acpi.sys (call-site)", name, c.Driver.Name, c.Kind())
		}
	}
	tests := []struct {
		name, tag, signer, fileVersion string
		microsoft                      bool
	}{
		{"acpi.sys", "AcpS", "Microsoft Windows", "10.0.18362.1 (WinBuild.160101.0800)", true},
		{"WdBoot.sys", "EBdb", "Microsoft Windows Early Launch Anti-malware Publisher", "4.18.1906.3 (GitEnlistment(winpbld).190621-1227)", true},
		{"amdxata.sys", "XAta", "Microsoft Windows", "1.1.3.277 (NT.150223-1854)", false},
		{"amdi2c.sys", "SI2C", "", "1.2.0.94", false},
	}
	for _, tt := range tests {
		d := cat.Driver(filepath.Join(dir, tt.name))
		if d == nil {
			t.Errorf("%s: not indexed", tt.name)
			continue
		}
		if e := d.Evidence(tagValue(tt.tag)); e.Kind() != CallSite {
			t.Errorf("%s: %s evidence %+v, want call-site", tt.name, tt.tag, e)
		}
		if d.Signature.Signer != tt.signer || (tt.signer != "" && !d.Signature.HashMatches) {
			t.Errorf("%s: signature %+v, want signer %q with matching hash", tt.name, d.Signature, tt.signer)
		}
		if tt.signer == "" && d.Signature.Note != "no embedded signature (may be catalog-signed)" {
			t.Errorf("%s: unsigned note %q", tt.name, d.Signature.Note)
		}
		if d.Version.FileVersion != tt.fileVersion || d.Microsoft != tt.microsoft {
			t.Errorf("%s: file version %q Microsoft %v, want %q %v", tt.name, d.Version.FileVersion, d.Microsoft, tt.fileVersion, tt.microsoft)
		}
	}
}

// tagValue converts a display string to a tag, padding with spaces.
func tagValue(s string) pooltag.Tag {
	b := []byte(s + "    ")[:4]
	return pooltag.Tag(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
}
