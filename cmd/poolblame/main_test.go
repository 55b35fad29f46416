package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/internal/realdata"
)

const (
	sample2003 = "../../testdata/win2003-x86-isil.dmp"
	sample11   = "../../testdata/win11-x64-ctfl.dmp"
	triageRel  = "dumps/triage_x64.dmp"
)

// triageX64 is the real Windows 10 triage dump, "" when the real data is
// absent; needTriage skips (or, when POOLBLAME_REALDATA names the folder,
// fails) the tests that use it.
var triageX64, _ = realdata.Lookup(triageRel)

func needTriage(t *testing.T) { t.Helper(); realdata.Path(t, triageRel) }

// notExist is how this platform says a file does not exist ("no such file
// or directory"; Windows: "The system cannot find the file specified.").
func notExist(t *testing.T) string {
	_, err := os.Stat(filepath.Join(t.TempDir(), "absent"))
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Fatalf("stat of an absent file: %v", err)
	}
	return pe.Err.Error()
}

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	st := run(args, &out, &errb)
	return out.String(), errb.String(), st
}

func TestInfo(t *testing.T) {
	tests := []struct {
		args   []string
		status int
		want   []string
	}{
		{[]string{"info", sample2003}, 0, []string{"Windows Server 2003 (build 3790), x86 (PAE), 2 CPUs",
			"summary kernel", "0xe2 (MANUALLY_INITIATED_CRASH)", "2005-09-02 18:59:03 UTC", "9d 07h 12m 00s", "isil.sys"}},
		{[]string{"info", sample11}, 0, []string{"Windows 11 22H2 (build 22621), x64, 8 CPUs", "0x19 (BAD_POOL_HEADER)", "bitmap"}},
		{[]string{"info", triageX64}, 0, []string{"Windows 10 2004 (build 19041)", "NONE: this dump carries no pool memory", "151 ("}},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.args[len(tt.args)-1]), func(t *testing.T) {
			if tt.args[len(tt.args)-1] == triageX64 {
				needTriage(t)
			}
			out, errs, st := runCmd(t, tt.args...)
			if st != tt.status {
				t.Errorf("%v: status %d, stderr %q", tt.args, st, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("%v: output lacks %q:\n%s", tt.args, w, out)
				}
			}
		})
	}
}

func TestInfoJSON(t *testing.T) {
	needTriage(t)
	out, _, st := runCmd(t, "info", "--json", triageX64)
	var in dumpInfo
	if err := json.Unmarshal([]byte(out), &in); err != nil || st != 0 {
		t.Fatalf("status %d, %v", st, err)
	}
	if in.Build != 19041 || in.CPUs != 16 || in.BugCheck != 0x1000007E || in.KDBGAddress != "0xfffff8047c600b20" ||
		in.DTB != "0x1ad000" || in.ModuleCount != 151 || in.PoolDataPresent {
		t.Errorf("%+v", in)
	}
}

// Bad input: one line naming the file and the problem, exit status 2.
func TestBadInputExit(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.dmp")
	os.WriteFile(empty, nil, 0o644)
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("not a dump"), 0o644)
	mdmp := filepath.Join(dir, "user.dmp")
	os.WriteFile(mdmp, []byte("MDMP\x93\xa7\x00\x00 user mode"), 0o644)
	for _, c := range []struct{ path, want string }{
		{empty, "empty file"}, {text, "not a Windows crash dump"}, {mdmp, "user-mode minidump"},
		{dir, "is a directory"}, {filepath.Join(dir, "nope.dmp"), notExist(t)},
	} {
		for _, cmd := range []string{"info", "poolused", "report"} {
			_, errs, st := runCmd(t, cmd, c.path)
			if st != exitError || !strings.Contains(errs, c.path) || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
				t.Errorf("%s %s: status %d, stderr %q", cmd, c.path, st, errs)
			}
		}
	}
	if _, _, st := runCmd(t, "poolused", "--sort", "size", sample2003); st != exitError {
		t.Errorf("bad --sort: status %d", st)
	}
	if _, _, st := runCmd(t, "nosuchcommand"); st != exitError {
		t.Errorf("unknown command: status %d", st)
	}
}

// The classic case: poolused --sort nonpaged shows the poolmon picture.
func TestPoolused2003(t *testing.T) {
	out, errs, st := runCmd(t, "poolused", "--sort", "nonpaged", "--top", "5", sample2003)
	if st != 0 {
		t.Fatalf("status %d: %s", st, errs)
	}
	lines := strings.Split(out, "\n")
	var rows []string
	for _, l := range lines {
		if strings.Contains(l, "UNKNOWN pooltag") || strings.Contains(l, "Binary:") {
			rows = append(rows, l)
		}
	}
	want := []string{
		" ISil    80939 36678632         0        0UNKNOWN pooltag 'ISil', please update pooltag.txt",
		" I100    80909 14886928         0        0UNKNOWN pooltag 'I100', please update pooltag.txt",
		" PcNw   203460 12203296         0        0UNKNOWN pooltag 'PcNw', please update pooltag.txt",
		" SavE      407 11717016         0        0UNKNOWN pooltag 'SavE', please update pooltag.txt",
		" IAM     41439  8519576         0        0UNKNOWN pooltag 'IAM ', please update pooltag.txt",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	for _, w := range []string{"Sorting by  NonPaged Pool Consumed", "NonPagedPool Max:       32768 (   131072 Kb)",
		"HTTP.SYS: free nonpaged pool 19.3 MiB is BELOW HTTP.SYS's 20.0 MiB floor"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q", w)
		}
	}
}

func TestPoolusedFormats(t *testing.T) {
	pt := filepath.Join(t.TempDir(), "pooltag.txt")
	os.WriteFile(pt, []byte("ISil - isil.sys - Intersil wireless miniport\r\nI1?? - <unknown> - Intel-style test tags\r\n"), 0o644)
	out, _, st := runCmd(t, "poolused", "--json", "--tag", "I*", "--sort", "nonpaged", "--pooltag", pt, sample2003)
	var j poolusedJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil || st != 0 {
		t.Fatalf("status %d: %v", st, err)
	}
	if len(j.Tags) < 3 || j.Tags[0].Tag != "ISil" || j.Tags[0].NonPagedAllocs != 1408366 || j.Tags[0].NonPagedFrees != 1327427 ||
		j.Tags[0].Binary != "isil.sys" || j.CPUs != 2 || len(j.PerCPU) != 2 || j.OneCPUOnly || !j.Limits.HTTPSysBelow {
		t.Errorf("%+v", j)
	}
	for _, tg := range j.Tags {
		if !strings.HasPrefix(tg.Tag, "I") {
			t.Errorf("filter let %q through", tg.Tag)
		}
	}
	out, _, _ = runCmd(t, "poolused", "--csv", "--sort", "paged", "--top", "2", sample2003)
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(recs) != 3 || recs[1][0] != "MmSt" || recs[1][8] != "14403584" {
		t.Errorf("csv %q %v", recs, err)
	}
	out, _, _ = runCmd(t, "poolused", "--verbose", "--tag", "ISil", sample2003)
	if !strings.Contains(out, "1408366    1327427      80939   36678632") {
		t.Errorf("verbose output:\n%s", out)
	}
}

func TestPoolusedNoPool(t *testing.T) {
	needTriage(t)
	_, errs, st := runCmd(t, "poolused", triageX64)
	if st != exitNoPool || !strings.Contains(errs, "no physical memory") {
		t.Errorf("status %d stderr %q", st, errs)
	}
}

func TestReportCommand(t *testing.T) {
	dir := t.TempDir()
	out, errs, st := runCmd(t, sample2003, "--drivers", "../../testdata/drivers-2003", "--color", "never")
	if st != exitOK {
		t.Fatalf("status %d: %s", st, errs)
	}
	for _, w := range []string{"isil.sys (Intersil Corporation, 3.1.2.0, third party) owns tag ISil", "confidence: HIGH",
		"Free nonpaged pool 19.3 MiB is BELOW HTTP.SYS's 20.0 MiB floor"} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q", w)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("color written with --color never")
	}
	if out, _, _ := runCmd(t, "report", sample2003, "--color", "always", "--no-dump-images"); !strings.Contains(out, "\x1b[") {
		t.Error("no color with --color always")
	}
	// -o chooses the format from the extension; --format wins over it.
	for _, c := range []struct{ file, format, want string }{
		{"r.html", "", "<svg"}, {"r.json", "", `"schema_version": "1.0"`}, {"r.md", "", "| "}, {"r.txt", "json", `"schema_version"`},
	} {
		args := []string{sample2003, "-o", filepath.Join(dir, c.file)}
		if c.format != "" {
			args = append(args, "--format", c.format)
		}
		if _, errs, st := runCmd(t, args...); st != exitOK {
			t.Fatalf("%v: status %d %s", args, st, errs)
		}
		b, _ := os.ReadFile(filepath.Join(dir, c.file))
		if !strings.Contains(string(b), c.want) {
			t.Errorf("%s lacks %q", c.file, c.want)
		}
	}
	// A triage dump: the report is written, with the distinct status.
	t.Run("triage", func(t *testing.T) {
		needTriage(t)
		out, errs, st := runCmd(t, triageX64, "--color", "never")
		if st != exitNoPool || !strings.Contains(out, "triage dump") || !strings.Contains(errs, "no pool analysis possible") {
			t.Errorf("triage: status %d, stderr %q", st, errs)
		}
	})
	if _, _, st := runCmd(t, sample2003, "--drivers", filepath.Join(dir, "missing")); st != exitError {
		t.Errorf("missing drivers folder: status %d", st)
	}
	if _, _, st := runCmd(t, sample2003, "--format", "pdf"); st != exitError {
		t.Errorf("bad format: status %d", st)
	}
}

// From the dump alone: drivers' import names are gone, their IAT slots
// are named through the kernel's exports, and the call sites are found.
func TestTagFromDumpOnly(t *testing.T) {
	out, errs, st := runCmd(t, "tag", "ISil", "CtFl", "--dump", sample2003, "--dump", sample11)
	if st != exitOK {
		t.Fatalf("status %d: %s", st, errs)
	}
	for _, w := range []string{"isil.sys                 call-site x2", "contosoflt.sys           call-site x2"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

// A failed write to stdout is the run's error, whatever the command
// returned, and says so on stderr.
func TestOutputWriteError(t *testing.T) {
	var errb bytes.Buffer
	for _, args := range [][]string{
		{"info", "../../testdata/win2003-x86-isil.dmp"},
		{"../../testdata/win2003-x86-isil.dmp", "--drivers", "../../testdata/drivers-2003"},
		{"tag", "ISil", "--drivers", "../../testdata/drivers-2003"},
		{"poolused", "../../testdata/win2003-x86-isil.dmp"},
		{"poolused", "--csv", "../../testdata/win2003-x86-isil.dmp"},
		{"poolused", "--json", "../../testdata/win2003-x86-isil.dmp"},
		{"poolfind", "--csv", "../../testdata/win2003-x86-isil.dmp", "ISil"},
	} {
		errb.Reset()
		st := run(args, brokenPipe{}, &errb)
		if st != exitOutput || errb.String() != "poolblame: writing the output: broken pipe\n" {
			t.Errorf("%q: exit %d, stderr %q; want %d and one line naming the write error", args, st, errb.String(), exitOutput)
		}
	}
}

type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }
