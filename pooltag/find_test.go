package pooltag

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFindPooltag(t *testing.T) {
	root := t.TempDir()
	mk := func(parts ...string) string {
		p := filepath.Join(append([]string{root}, parts...)...)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("Abcd - a.sys - x\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pf86 := filepath.Join(root, "pf86")
	pf := filepath.Join(root, "pf")
	kit10x86 := mk("pf86", "Windows Kits", "10", "Debuggers", "x86", "triage", "pooltag.txt")
	kit81 := mk("pf86", "Windows Kits", "8.1", "Debuggers", "x64", "triage", "pooltag.txt")
	dbg := mk("pf", "Debugging Tools for Windows (x64)", "triage", "pooltag.txt")
	explicit := mk("mine.txt")
	// The WinDbg app, three versions installed: 1.2409 is the newest,
	// though 1.9 sorts last as text.
	pfApp := filepath.Join(root, "pfapp")
	app := mk("pfapp", "WindowsApps", "Microsoft.WinDbg_1.2409.17001.0_x64__8wekyb3d8bbwe", "amd64", "triage", "pooltag.txt")
	mk("pfapp", "WindowsApps", "Microsoft.WinDbg_1.10.0.0_x64__8wekyb3d8bbwe", "amd64", "triage", "pooltag.txt")
	mk("pfapp", "WindowsApps", "Microsoft.WinDbg_1.9.0.0_x64__8wekyb3d8bbwe", "amd64", "triage", "pooltag.txt")
	appArm := mk("pfarm", "WindowsApps", "Microsoft.WinDbg_1.2409.17001.0_arm64__8wekyb3d8bbwe", "arm64", "triage", "pooltag.txt")
	// A directory where the 10 x64 file would be must be passed over.
	if err := os.MkdirAll(filepath.Join(pf86, "Windows Kits", "10", "Debuggers", "x64", "triage", "pooltag.txt"), 0o755); err != nil {
		t.Fatal(err)
	}

	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name     string
		explicit string
		env      map[string]string
		want     string
		wantErr  string
	}{
		{"explicit wins", explicit, map[string]string{"ProgramFiles(x86)": pf86}, explicit, ""},
		{"explicit missing", filepath.Join(root, "gone.txt"), nil, "", "gone.txt"},
		{"explicit is a directory", root, nil, "", "is a directory"},
		{"kit 10 before 8.1", "", map[string]string{"ProgramFiles(x86)": pf86, "ProgramFiles": pf}, kit10x86, ""},
		{"debugging tools last", "", map[string]string{"ProgramFiles": pf}, dbg, ""},
		{"kit before the WinDbg app", "", map[string]string{"ProgramFiles(x86)": pf86, "ProgramFiles": pfApp}, kit10x86, ""},
		{"WinDbg app, newest version", "", map[string]string{"ProgramFiles": pfApp}, app, ""},
		{"WinDbg app on arm64", "", map[string]string{"ProgramFiles": filepath.Join(root, "pfarm")}, appArm, ""},
		{"nothing installed", "", map[string]string{"ProgramFiles(x86)": filepath.Join(root, "empty")}, "", ""},
		{"no environment", "", nil, "", ""},
	}
	for _, tt := range tests {
		got, err := Find(tt.explicit, env(tt.env))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: Find = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
	// With the 10 x86 file gone the 8.1 kit is next.
	if err := os.Remove(kit10x86); err != nil {
		t.Fatal(err)
	}
	if got, err := Find("", env(map[string]string{"ProgramFiles(x86)": pf86})); got != kit81 || err != nil {
		t.Errorf("after removing kit 10: %q, %v; want %q", got, err, kit81)
	}
}
