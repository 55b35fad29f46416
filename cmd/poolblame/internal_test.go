package main

import (
	"bytes"
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/internal/realdata"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/report"
)

// A panic is an internal error: its own status, one line asking for a
// report, the stack only on request.
func TestInternalError(t *testing.T) {
	for _, trace := range []bool{false, true} {
		var errb bytes.Buffer
		st := guardRun(&errb, trace, func() int { panic("a bug in the tool") })
		s := errb.String()
		if st != exitInternal || st == exitError {
			t.Errorf("status %d, want %d", st, exitInternal)
		}
		if !strings.Contains(s, "internal error") || !strings.Contains(s, "please report") {
			t.Errorf("message %q", s)
		}
		if lines := strings.Count(s, "\n"); trace != (lines > 1) || !trace && !strings.Contains(s, traceEnv+"=1") {
			t.Errorf("trace %v: %d lines: %q", trace, lines, s)
		}
	}
	var errb bytes.Buffer
	if st := guardRun(&errb, false, func() int { return exitError }); st != exitError || errb.Len() != 0 {
		t.Errorf("no panic: status %d, %q", st, errb.String())
	}
}

// A DumpIt capture is named as one, not as a hex bug check.
func TestInfoDumpIt(t *testing.T) {
	p := realdata.Path(t, "headers/dumpit_full_19045_first16k.bin")
	out, _, st := runCmd(t, "info", p)
	if st != exitOK || !strings.Contains(out, "memory capture (DumpIt)") || strings.Contains(strings.ToLower(out), "0x5454414d") {
		t.Errorf("status %d:\n%s", st, out)
	}
	out, _, _ = runCmd(t, "report", p)
	if !strings.Contains(out, "memory capture (DumpIt)") || strings.Contains(strings.ToLower(out), "0x5454414d") {
		t.Errorf("report:\n%s", out)
	}
}

// -o never replaces the dump, a driver or (without --force) any file the
// run did not write.
func TestReportOutputNeverOverEvidence(t *testing.T) {
	dir := t.TempDir()
	dump := filepath.Join(dir, "D.dmp")
	raw, err := os.ReadFile(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(dump, raw, 0o644)
	drv := filepath.Join(dir, "drv")
	os.Mkdir(drv, 0o755)
	isil, _ := os.ReadFile("../../testdata/drivers-2003/isil.sys")
	os.WriteFile(filepath.Join(drv, "isil.sys"), isil, 0o644)
	link := filepath.Join(dir, "link.dmp")
	os.Link(dump, link)
	notes := filepath.Join(dir, "notes.txt")
	os.WriteFile(notes, []byte("keep me"), 0o644)
	tests := []struct {
		out   string
		force bool
		want  int
		text  string
	}{
		{dump, true, exitError, "never written over"},
		{link, true, exitError, "the same file"},
		{filepath.Join(drv, "isil.sys"), true, exitError, "input folder"},
		{notes, false, exitError, "--force"},
		{notes, true, exitOK, ""},
		{filepath.Join(dir, "new.md"), false, exitOK, ""},
	}
	for _, tt := range tests {
		args := []string{"report", dump, "--drivers", drv, "-o", tt.out}
		if tt.force {
			args = append(args, "--force")
		}
		_, errs, st := runCmd(t, args...)
		if st != tt.want || !strings.Contains(errs, tt.text) || tt.text != "" && !strings.Contains(errs, tt.out) {
			t.Errorf("-o %s (force %v): status %d, %q", tt.out, tt.force, st, errs)
		}
	}
	if b, _ := os.ReadFile(dump); !bytes.Equal(b, raw) {
		t.Error("the dump changed")
	}
	if b, _ := os.ReadFile(filepath.Join(drv, "isil.sys")); !bytes.Equal(b, isil) {
		t.Error("the driver changed")
	}
	if b, _ := os.ReadFile(notes); !strings.HasPrefix(string(b), "poolblame report") {
		t.Errorf("--force did not write the report: %.40q", b)
	}
}

// poolused --csv neutralises formula-like cells as the report's CSV does.
func TestPoolusedCSVFormulas(t *testing.T) {
	tag := pooltag.MustTag("=cmd")
	r := &pool.Result{Usages: []pool.Usage{{Tag: tag, NonPagedAllocs: 2, NonPagedBytes: 64}}}
	var b bytes.Buffer
	if err := writePoolusedCSV(&b, r, pool.Selection{}, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][0] != report.CSVCell("=cmd") || strings.HasPrefix(rows[1][0], "=") {
		t.Errorf("rows %q", rows)
	}
}

// failingWriter takes n bytes, then fails every write with err.
type failingWriter struct {
	n   int
	err error
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, w.err
	}
	w.n -= len(p)
	return len(p), nil
}

// poolused --csv longer than the CSV writer's buffer fails at a row, not
// only at the flush: the row's error is the output's, which fail leaves
// to run (one line, exit 74), and the original error stays reachable.
func TestCSVWriteErrors(t *testing.T) {
	full := errors.New("no space left on device")
	var usages []pool.Usage
	for i := range 1000 {
		usages = append(usages, pool.Usage{Tag: pooltag.Tag(0x41414141 + uint32(i)), NonPagedAllocs: uint64(i), NonPagedBytes: 64 * uint64(i)})
	}
	for _, room := range []int{0, 5000} {
		var errb bytes.Buffer
		err := writePoolusedCSV(&checkedWriter{w: &failingWriter{n: room, err: full}}, &pool.Result{Usages: usages}, pool.Selection{}, nil)
		if !errors.Is(err, full) || fail(&errb, err) != exitOutput || errb.Len() != 0 {
			t.Errorf("%d bytes of room: err %v, stderr %q; want the write error, exit %d and nothing printed", room, err, errb.String(), exitOutput)
		}
	}
}
