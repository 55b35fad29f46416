// Command winetest runs windows/amd64 test binaries under Wine and says
// what ran: per package, the tests that passed, were skipped, failed, and
// failed only where Wine 8 lacks what Go's standard library uses.
//
//	winetest -bin DIR [-prefix DIR] [-wine PATH]
//
// DIR holds PKG.test.exe files (PKG: the package's path in the module,
// slashes as dashes, as scripts/windows.sh names them); each runs in its
// package's folder, found with go list, so relative test data resolves as
// under go test. The Wine prefix is created when missing, with the
// bcryptprimitives.dll Go's runtime needs (see bcrypt.go).
//
// Known Wine 8 gap: os.RemoveAll asks NtSetInformationFile for
// FileDispositionInformationEx, which Wine answers STATUS_NOT_IMPLEMENTED
// ("Invalid function"); Go falls back to the older call only for the
// statuses Windows gives, so every t.TempDir cleanup fails. A test whose
// only failure is that cleanup is counted apart, not as a failure.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

func main() {
	bin := flag.String("bin", "", "folder of PKG.test.exe files")
	prefix := flag.String("prefix", "", "Wine prefix (default: a folder beside -bin)")
	wine := flag.String("wine", "", "wine64 binary (default: wine64 on PATH, else /usr/lib/wine/wine64)")
	timeout := flag.Duration("timeout", 10*time.Minute, "per test binary")
	flag.Parse()
	if *bin == "" {
		fmt.Fprintln(os.Stderr, "usage: winetest -bin DIR [-prefix DIR] [-wine PATH]")
		os.Exit(2)
	}
	if *prefix == "" {
		*prefix = filepath.Join(filepath.Dir(filepath.Clean(*bin)), "wineprefix")
	}
	ok, err := run(*bin, *prefix, *wine, *timeout, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "winetest:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(bin, prefix, wine string, timeout time.Duration, out io.Writer) (bool, error) {
	wine, err := findWine(wine)
	if err != nil {
		return false, err
	}
	prefix, err = filepath.Abs(prefix)
	if err != nil {
		return false, err
	}
	if err := setupPrefix(wine, prefix); err != nil {
		return false, err
	}
	dirs, err := packageDirs()
	if err != nil {
		return false, err
	}
	exes, _ := filepath.Glob(filepath.Join(bin, "*.test.exe"))
	if len(exes) == 0 {
		return false, fmt.Errorf("no *.test.exe in %s", bin)
	}
	sort.Strings(exes)
	allOK := true
	var total tally
	start := time.Now()
	for _, exe := range exes {
		name := strings.TrimSuffix(filepath.Base(exe), ".test.exe")
		dir, found := dirs[name]
		if !found {
			return false, fmt.Errorf("%s: no package of that name", exe)
		}
		abs, _ := filepath.Abs(exe)
		t0 := time.Now()
		res, err := runBinary(wine, prefix, abs, dir, timeout)
		line := fmt.Sprintf("%-14s %6.1fs  %s", name, time.Since(t0).Seconds(), res.tally)
		if err != nil || res.failed() {
			allOK = false
			if err != nil {
				line += "  ERROR: " + err.Error()
			}
			for _, f := range res.failures {
				line += "\n    FAIL " + f
			}
		}
		fmt.Fprintln(out, line)
		total.add(res.tally)
	}
	fmt.Fprintf(out, "%-14s %6.1fs  %s\n", "total", time.Since(start).Seconds(), total)
	return allOK, nil
}

func findWine(explicit string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	for _, name := range []string{"wine64", "/usr/lib/wine/wine64", "wine"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no wine64 found")
}

// setupPrefix creates the Wine prefix once and puts the DLL in System32.
func setupPrefix(wine, prefix string) error {
	if _, err := os.Stat(filepath.Join(prefix, "system.reg")); err != nil {
		cmd := exec.Command(wine, "wineboot", "-i")
		cmd.Env = wineEnv(prefix)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("wineboot: %w\n%s", err, b)
		}
	}
	sys32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	dll := filepath.Join(sys32, "bcryptprimitives.dll")
	if _, err := os.Stat(dll); err == nil {
		return nil // Wine's own (Wine 9 and later) or ours from a previous run
	}
	return os.WriteFile(dll, bcryptImage(), 0o644)
}

func wineEnv(prefix string) []string {
	return append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=")
}

// packageDirs maps each package's path inside the module, slashes
// turned to dashes (pool/damage -> pool-damage), to its folder: the names
// scripts/windows.sh gives the test binaries.
func packageDirs() (map[string]string, error) {
	mod, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m: %w", err)
	}
	b, err := exec.Command("go", "list", "-f", "{{.ImportPath}} {{.Dir}}", "./...").Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %w", err)
	}
	prefix := strings.TrimSpace(string(mod))
	dirs := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		imp, dir, _ := strings.Cut(l, " ")
		rel := strings.TrimPrefix(strings.TrimPrefix(imp, prefix), "/")
		if rel == "" {
			rel = filepath.Base(prefix)
		}
		dirs[strings.ReplaceAll(rel, "/", "-")] = dir
	}
	return dirs, nil
}

// runBinary runs one test binary under Wine in dir, converting its
// verbose output with go tool test2json.
func runBinary(wine, prefix, exe, dir string, timeout time.Duration) (result, error) {
	cmd := exec.Command(wine, exe, "-test.v=test2json", "-test.timeout="+timeout.String())
	cmd.Dir = dir
	cmd.Env = wineEnv(prefix)
	var raw bytes.Buffer
	cmd.Stdout = &raw
	cmd.Stderr = &raw
	runErr := cmd.Run()
	conv := exec.Command("go", "tool", "test2json", "-p", filepath.Base(dir))
	conv.Stdin = &raw
	js, err := conv.Output()
	if err != nil {
		return result{}, fmt.Errorf("test2json: %w", err)
	}
	res := classify(bytes.NewReader(js))
	if runErr != nil && !res.failed() && res.Gap == 0 {
		// The binary failed without a failing test: a crash.
		return res, fmt.Errorf("exit: %w: %s", runErr, lastLines(raw.String(), 5))
	}
	return res, nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], " | ")
}

// tally counts tests (subtests included) by outcome.
type tally struct{ Pass, Skip, Fail, Gap int }

func (t *tally) add(o tally) { t.Pass += o.Pass; t.Skip += o.Skip; t.Fail += o.Fail; t.Gap += o.Gap }

func (t tally) String() string {
	return fmt.Sprintf("%d passed, %d skipped, %d failed, %d failed only in t.TempDir cleanup (Wine)", t.Pass, t.Skip, t.Fail, t.Gap)
}

type result struct {
	tally
	failures []string
}

func (r result) failed() bool { return r.Fail > 0 }

// event is one line of go tool test2json's output.
type event struct {
	Action string
	Test   string
	Output string
}

// wineGap is the one failure line Wine 8 causes in every test that uses
// t.TempDir (see the package comment).
func wineGap(line string) bool {
	return strings.Contains(line, "TempDir RemoveAll cleanup:") && strings.Contains(line, "Invalid function")
}

// classify reads test2json events. A failed test whose own output holds
// only Wine-gap lines (and whose failed subtests are all gaps) is a gap.
func classify(r io.Reader) result {
	own := map[string][]string{} // test -> output lines that are not framing
	outcome := map[string]string{}
	var order []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil || e.Test == "" {
			continue
		}
		switch e.Action {
		case "output":
			l := strings.TrimSpace(e.Output)
			if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
				continue
			}
			own[e.Test] = append(own[e.Test], l)
		case "pass", "fail", "skip":
			if _, seen := outcome[e.Test]; !seen {
				order = append(order, e.Test)
			}
			outcome[e.Test] = e.Action
		}
	}
	var isGap func(test string) bool
	isGap = func(test string) bool {
		if outcome[test] != "fail" {
			return false
		}
		gapLines := 0
		for _, l := range own[test] {
			if !wineGap(l) {
				return false
			}
			gapLines++
		}
		failedChildren := 0
		for _, c := range order {
			if strings.HasPrefix(c, test+"/") && !strings.Contains(c[len(test)+1:], "/") && outcome[c] == "fail" {
				if !isGap(c) {
					return false
				}
				failedChildren++
			}
		}
		return gapLines > 0 || failedChildren > 0
	}
	var res result
	for _, test := range order {
		switch outcome[test] {
		case "pass":
			res.Pass++
		case "skip":
			res.Skip++
		case "fail":
			if isGap(test) {
				res.Gap++
			} else {
				res.Fail++
				res.failures = append(res.failures, test+": "+strings.Join(own[test], " | "))
			}
		}
	}
	return res
}
