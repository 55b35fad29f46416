package pooltag

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// pooltagLocation is one place the Debugging Tools for Windows install
// pooltag.txt: a directory held by an environment variable, and the path
// below it. pooltag.txt is Microsoft's and may not be redistributed, so it
// is found where the user installed it, never shipped.
type pooltagLocation struct {
	env  string
	path []string
}

// pooltagLocations is the search order: the Windows 10 kit's debuggers
// (x64 first, as on an x64 workstation), then the 8.1 and 8.0 kits, then
// the standalone Debugging Tools for Windows.
var pooltagLocations = []pooltagLocation{
	{"ProgramFiles(x86)", []string{"Windows Kits", "10", "Debuggers", "x64", "triage", "pooltag.txt"}},
	{"ProgramFiles(x86)", []string{"Windows Kits", "10", "Debuggers", "x86", "triage", "pooltag.txt"}},
	{"ProgramFiles(x86)", []string{"Windows Kits", "10", "Debuggers", "arm64", "triage", "pooltag.txt"}},
	{"ProgramFiles(x86)", []string{"Windows Kits", "8.1", "Debuggers", "x64", "triage", "pooltag.txt"}},
	{"ProgramFiles(x86)", []string{"Windows Kits", "8.1", "Debuggers", "x86", "triage", "pooltag.txt"}},
	{"ProgramFiles(x86)", []string{"Windows Kits", "8.0", "Debuggers", "x64", "triage", "pooltag.txt"}},
	{"ProgramFiles(x86)", []string{"Windows Kits", "8.0", "Debuggers", "x86", "triage", "pooltag.txt"}},
	{"ProgramFiles", []string{"Debugging Tools for Windows (x64)", "triage", "pooltag.txt"}},
	{"ProgramFiles", []string{"Debugging Tools for Windows (x86)", "triage", "pooltag.txt"}},
	{"ProgramFiles(x86)", []string{"Debugging Tools for Windows (x86)", "triage", "pooltag.txt"}},
}

// Find returns the pooltag file to use: explicit when it is set (an
// error if it is not a readable file), else the first standard Debugging
// Tools location that exists, with directories taken from getenv. When
// none exists it returns "" and no error: descriptions are optional.
func Find(explicit string, getenv func(string) string) (string, error) {
	if explicit != "" {
		st, err := os.Stat(explicit)
		if err != nil {
			return "", fmt.Errorf("pooltag file: %w", err)
		}
		if st.IsDir() {
			return "", fmt.Errorf("pooltag file %s: is a directory", explicit)
		}
		return explicit, nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	for _, loc := range pooltagLocations {
		dir := getenv(loc.env)
		if dir == "" {
			continue
		}
		p := filepath.Join(append([]string{dir}, loc.path...)...)
		st, err := os.Stat(p)
		switch {
		case err == nil && st.Mode().IsRegular():
			return p, nil
		case errors.Is(err, fs.ErrPermission):
			// A kit that is there but unreadable deserves to be named.
			return "", fmt.Errorf("pooltag file: %w", err)
		}
	}
	if p := findWinDbgApp(getenv("ProgramFiles")); p != "" {
		return p, nil
	}
	return "", nil
}

// winDbgAppTriage are the folders of the WinDbg app (the Store/winget
// package Microsoft.WinDbg, formerly WinDbg Preview) that hold
// triage\pooltag.txt, one per architecture it ships.
var winDbgAppTriage = []string{"amd64", "arm64", "x86"}

// findWinDbgApp looks for pooltag.txt in the WinDbg app's package folder,
// %ProgramFiles%\WindowsApps\Microsoft.WinDbg_VERSION_ARCH__8wekyb3d8bbwe;
// the newest version wins. Windows lets only administrators list
// WindowsApps: otherwise nothing is found here and --pooltag must name the
// file ((Get-AppxPackage Microsoft.WinDbg).InstallLocation gives the folder).
func findWinDbgApp(programFiles string) string {
	if programFiles == "" {
		return ""
	}
	pkgs, _ := filepath.Glob(filepath.Join(programFiles, "WindowsApps", "Microsoft.WinDbg_*"))
	slices.SortFunc(pkgs, func(a, b string) int { return compareVersions(packageVersion(b), packageVersion(a)) })
	for _, pkg := range pkgs {
		for _, arch := range winDbgAppTriage {
			p := filepath.Join(pkg, arch, "triage", "pooltag.txt")
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p
			}
		}
	}
	return ""
}

// packageVersion is the VERSION of a Microsoft.WinDbg_VERSION_... folder.
func packageVersion(dir string) string {
	parts := strings.Split(filepath.Base(dir), "_")
	if len(parts) < 2 {
		return ""
	}
	return parts[1]
}

// compareVersions orders dotted versions number by number.
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(as), len(bs)) {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return cmp.Compare(x, y)
		}
	}
	return 0
}
