//go:build unix

package batch

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/poolblame/poolblame/internal/outfile"
)

func zipOf(t *testing.T, name string, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func countsAddUp(t *testing.T, c Counts) {
	t.Helper()
	if c.Analysed+c.Skipped+c.Failed+c.Duplicates != c.Dumps {
		t.Errorf("counts %+v do not add up to the dumps", c)
	}
}

// A corrupt zip and a good zip of the same dump: the good copy is
// analysed (not called a duplicate of the failed one), and the counts add
// up.
func TestCorruptCopyFirst(t *testing.T) {
	dump, err := os.ReadFile(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	good := zipOf(t, "MEMORY.DMP", dump)
	bad := append([]byte(nil), good...)
	// Deflated data damaged past the start the key hashes: the copy
	// fails when it is read in full.
	for i := len(bad) * 3 / 4; i < len(bad)*3/4+64; i++ {
		bad[i] ^= 0x55
	}
	write(t, filepath.Join(dir, "a-corrupt.zip"), bad)
	write(t, filepath.Join(dir, "b-good.zip"), good)
	s, err := Run(context.Background(), Options{Paths: []string{dir}, OutDir: filepath.Join(t.TempDir(), "out"), Workers: 1, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	countsAddUp(t, s.Counts)
	if c := s.Counts; c.Dumps != 2 || c.Analysed != 1 || c.Failed != 1 || c.Duplicates != 0 {
		t.Errorf("counts %+v, want 1 analysed, 1 failed, no duplicate", c)
	}
	for _, d := range s.Dumps {
		if strings.HasSuffix(d.Path, "b-good.zip") && (d.Status == StatusError || d.Status == StatusDuplicate || len(d.Reports) == 0) {
			t.Errorf("the good copy: %s %q, reports %v", d.Status, d.Error, d.Reports)
		}
	}
	// Two good copies: the second is a duplicate, and the counts still add up.
	write(t, filepath.Join(dir, "a-corrupt.zip"), good)
	s, err = Run(context.Background(), Options{Paths: []string{dir}, OutDir: filepath.Join(t.TempDir(), "out"), Workers: 1, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	countsAddUp(t, s.Counts)
	if c := s.Counts; c.Analysed != 1 || c.Duplicates != 1 || c.Skipped != 0 {
		t.Errorf("counts %+v, want 1 analysed, 1 duplicate (not skipped)", c)
	}
}

// The output folder: never an input written over, nor a file no run
// wrote unless forced; index.json is saved as results arrive.
func TestOutputFolder(t *testing.T) {
	dump, err := os.ReadFile(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	write(t, filepath.Join(in, "one.dmp"), dump)
	two := append([]byte(nil), dump...)
	copy(two[0xFB0:], "second") // another header: another dump
	write(t, filepath.Join(in, "two.dmp"), two)

	out := t.TempDir()
	write(t, filepath.Join(out, SummaryText), []byte("someone's notes"))
	_, err = Run(context.Background(), Options{Paths: []string{in}, OutDir: out, TempDir: t.TempDir()})
	if !errors.Is(err, outfile.ErrExists) || !strings.Contains(err.Error(), SummaryText) {
		t.Fatalf("foreign file in the output folder: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, SummaryText)); string(b) != "someone's notes" {
		t.Fatal("a file no run wrote was replaced")
	}

	// Forced, and with the progress watched: after the first result, the
	// index on disk already holds it.
	var seen []int
	_, err = Run(context.Background(), Options{Paths: []string{in}, OutDir: out, TempDir: t.TempDir(), Force: true, Workers: 1,
		Progress: func(p Progress) {
			ix, _ := loadIndex(out, settingsOf(Options{}))
			seen = append(seen, len(ix.Entries))
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != 1 {
		t.Errorf("index entries on disk at each result: %v, want 1 at the first", seen)
	}
	// A re-run replaces its own outputs without --force.
	if _, err := Run(context.Background(), Options{Paths: []string{in}, OutDir: out, TempDir: t.TempDir()}); err != nil {
		t.Errorf("re-run: %v", err)
	}
	// An input inside the output folder is never written over, forced or not.
	snap := filepath.Join(out, SummaryText)
	write(t, snap, []byte("!poolused 4\n Sorting by NonPaged Pool Consumed\n\n               NonPaged                  Paged\n Tag     Allocs     Used     Allocs     Used\n\n ISil     80939 36678632          0        0\tUNKNOWN pooltag 'ISil'\n"))
	before, _ := os.ReadFile(snap)
	_, err = Run(context.Background(), Options{Paths: []string{in, snap}, OutDir: out, TempDir: t.TempDir(), Force: true})
	if !errors.Is(err, outfile.ErrInput) {
		t.Errorf("an input as summary.txt: %v", err)
	}
	if after, _ := os.ReadFile(snap); !bytes.Equal(before, after) {
		t.Error("an input was written over")
	}
}

// FIFOs, devices, links: nothing blocks, every unusable path is named,
// linked folders are followed (loops once).
func TestOddPaths(t *testing.T) {
	dump, err := os.ReadFile(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	top := t.TempDir()
	real := filepath.Join(top, "real")
	os.Mkdir(real, 0o755)
	write(t, filepath.Join(real, "one.dmp"), dump)
	if err := syscall.Mkfifo(filepath.Join(real, "pipe.dmp"), 0o600); err != nil {
		t.Skip(err)
	}
	os.Symlink(real, filepath.Join(real, "loop"))
	link := filepath.Join(top, "link")
	os.Symlink(real, link)
	fifo := filepath.Join(top, "explicit.dmp")
	syscall.Mkfifo(fifo, 0o600)

	done := make(chan struct{})
	var s *Summary
	go func() {
		defer close(done)
		s, err = Run(context.Background(), Options{Paths: []string{link, fifo, "/dev/zero"}, OutDir: filepath.Join(top, "out"), TempDir: t.TempDir()})
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the run blocked")
	}
	if err != nil {
		t.Fatal(err)
	}
	countsAddUp(t, s.Counts)
	var analysed int
	failed := map[string]string{}
	for _, d := range s.Dumps {
		if d.Status == StatusError {
			failed[d.Path] = d.Error
		} else if d.Status != StatusDuplicate {
			analysed++
		}
	}
	if analysed != 1 {
		t.Errorf("%d dumps analysed through the linked folder, want 1", analysed)
	}
	for p, want := range map[string]string{fifo: "named pipe (FIFO)", "/dev/zero": "character device"} {
		if e := failed[p]; !strings.Contains(e, want) || strings.Contains(e, "empty file") {
			t.Errorf("%s: %q, want %q", p, e, want)
		}
	}
	notes := strings.Join(s.Notes, "\n")
	for _, want := range []string{"pipe.dmp: is a named pipe (FIFO)", "loop: leads back to"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
}

// Bombs: a zip of zeros named MEMORY.DMP is refused on its first bytes,
// and a gzip of a real header followed by zeros is cut at the size the
// header declares.
func TestDecompressionBombs(t *testing.T) {
	const zeros = 512 << 20
	dir := t.TempDir()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	w, _ := zw.CreateHeader(&zip.FileHeader{Name: "MEMORY.DMP", Method: zip.Deflate})
	chunk := make([]byte, 1<<20)
	for range zeros >> 20 {
		w.Write(chunk)
	}
	zw.Close()
	write(t, filepath.Join(dir, "zeros.zip"), zbuf.Bytes())

	dump, err := os.ReadFile(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	var gbuf bytes.Buffer
	gw := gzip.NewWriter(&gbuf)
	gw.Write(dump) // its header declares its own size
	for range zeros >> 20 {
		gw.Write(chunk)
	}
	gw.Close()
	write(t, filepath.Join(dir, "padded.dmp.gz"), gbuf.Bytes())

	tmp := t.TempDir()
	start := time.Now()
	s, err := Run(context.Background(), Options{Paths: []string{dir}, OutDir: filepath.Join(t.TempDir(), "out"), TempDir: tmp,
		MemoryBudget: 1 << 20}) // no room in memory: both go the temporary-file way
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("took %v", d)
	}
	for _, d := range s.Dumps {
		switch {
		case strings.HasSuffix(d.Path, "zeros.zip"):
			if d.Status != StatusError || !strings.Contains(d.Error, "not a Windows crash dump") {
				t.Errorf("zeros: %s %q", d.Status, d.Error)
			}
		case strings.HasSuffix(d.Path, "padded.dmp.gz"):
			if d.Status == StatusError {
				t.Errorf("padded dump: %q", d.Error)
			}
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestDumpSinkCuts(t *testing.T) {
	dump, err := os.ReadFile(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := newDumpSink(&out)
	src := io.MultiReader(bytes.NewReader(dump), bytes.NewReader(make([]byte, 1<<20)))
	_, err = io.Copy(s, src)
	if err := s.finish(err); err != nil {
		t.Fatal(err)
	}
	if out.Len() != len(dump) {
		t.Errorf("kept %d bytes, the header declares %d", out.Len(), len(dump))
	}
	for _, bad := range [][]byte{make([]byte, 1<<16), []byte("MDMP\x93\xa7"), []byte("PAGE")} {
		s := newDumpSink(io.Discard)
		_, err := io.Copy(s, bytes.NewReader(bad))
		if s.finish(err) == nil || s.n > 0 {
			t.Errorf("%.8q: accepted, %d bytes passed on", bad, s.n)
		}
	}
}

// A run that was killed leaves its temporary folder; the next run
// recognises it (nobody holds its lock) and removes it, and leaves a
// living run's folder alone.
func TestAbandonedTempFolder(t *testing.T) {
	parent := t.TempDir()
	living, release, _, err := newRunTemp(parent)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	// A killed run: its folder and lock file remain, the lock is free.
	dead := filepath.Join(parent, runTempPrefix+"killed")
	os.Mkdir(dead, 0o700)
	write(t, filepath.Join(dead, runLockName), nil)
	write(t, filepath.Join(dead, "dump-1.dmp"), make([]byte, 1<<20))

	dump, err := os.ReadFile(sample2003)
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	write(t, filepath.Join(in, "one.dmp"), dump)
	s, err := Run(context.Background(), Options{Paths: []string{in}, OutDir: filepath.Join(t.TempDir(), "out"), TempDir: parent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the killed run's folder is still there: %v", err)
	}
	if !strings.Contains(strings.Join(s.Notes, "\n"), "killed") {
		t.Errorf("notes do not say it was removed: %q", s.Notes)
	}
	if _, err := os.Stat(living); err != nil {
		t.Errorf("a living run's folder was removed: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(parent, runTempPrefix+"*"))
	if len(left) != 1 {
		t.Errorf("folders left: %v (want only the living run's)", left)
	}
}
