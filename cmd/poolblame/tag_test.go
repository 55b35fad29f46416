package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

const synthDrivers = "../../pe/testdata"

func TestTagCommand(t *testing.T) {
	dir := t.TempDir()
	pooltag := filepath.Join(dir, "pooltag.txt")
	if err := os.WriteFile(pooltag, []byte("Tst1 - contoso.sys - Contoso test allocations\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		status int
		out    []string // substrings of stdout, in order
		errOut string   // substring of stderr
	}{
		{"found", []string{"Tst1", "--drivers", synthDrivers, "--pooltag", pooltag}, exitOK,
			[]string{"Tst1 (0x31747354): 4 drivers", "1  contoso_", "call-site x2 (ExAllocatePoolWithTag, ExFreePoolWithTag)",
				"version: Contoso", "4  decoy.sys", "bytes only", "pooltag.txt line 1: Tst1 - contoso.sys - Contoso test allocations"}, ""},
		{"one missing", []string{"Tst1", "Nope", "--drivers", synthDrivers}, exitFound,
			[]string{"Tst1", "Nope (0x65706f4e): not found in any driver"}, ""},
		{"hex and protected", []string{"0xF46F7250", "--drivers", synthDrivers}, exitOK,
			[]string{"Prot (0xf46f7250): 3 drivers", "[protected bit]"}, ""},
		{"no tags", []string{"--drivers", synthDrivers}, exitError, nil, "usage: poolblame tag"},
		{"nothing to search", []string{"Tst1"}, exitError, nil, "give --drivers DIR"},
		{"bad tag", []string{"TooLong", "--drivers", synthDrivers}, exitError, nil, "TooLong"},
		{"missing folder", []string{"Tst1", "--drivers", filepath.Join(dir, "none")}, exitError, nil, "drivers folder"},
		{"list tags", []string{"--list-tags", filepath.Join(synthDrivers, "contoso_x86.sys"), "--pooltag", pooltag}, exitOK,
			[]string{"x86, 5 tags passed to pool routines by its code", "Tst1  call-site x2", "-- Contoso test allocations",
				"1 more tag-like immediate never seen passed to a pool routine: weak evidence, listed with --weak"}, ""},
		{"list tags, weak too", []string{"--list-tags", filepath.Join(synthDrivers, "contoso_x86.sys"), "--weak"}, exitOK,
			[]string{"x86, 5 tags passed to pool routines by its code", "Tst1  call-site x2", "Oth1  weak: immediate x1",
				"(weak: 1 immediate never seen passed"}, ""},
		{"weak alone", []string{"Tst1", "--weak", "--drivers", synthDrivers}, exitError, nil, "--weak goes with --list-tags"},
		{"list tags and tags", []string{"Tst1", "--list-tags", filepath.Join(synthDrivers, "decoy.sys")}, exitError, nil, "not both"},
		{"list tags of garbage", []string{"--list-tags", pooltag}, exitError, nil, "bad PE image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			st := run(append([]string{"tag"}, tt.args...), &out, &errb)
			if st != tt.status {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", st, tt.status, out.String(), errb.String())
			}
			rest := out.String()
			for _, s := range tt.out {
				i := strings.Index(rest, s)
				if i < 0 {
					t.Fatalf("stdout lacks %q (in order)\n%s", s, out.String())
				}
				rest = rest[i+len(s):]
			}
			if !strings.Contains(errb.String(), tt.errOut) {
				t.Errorf("stderr %q, want %q", errb.String(), tt.errOut)
			}
		})
	}
}

func TestTagJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if st := run([]string{"tag", "Wrp1", "Dcy1", "--json", "--drivers", synthDrivers}, &out, &errb); st != exitOK {
		t.Fatalf("exit %d: %s", st, errb.String())
	}
	var res struct {
		Tags []struct {
			Tag        string
			Found      bool
			Candidates []struct {
				Rank     int
				Evidence string
				Count    int
				Detail   struct{ Wrapped int }
				Driver   struct {
					Name    string
					Machine string
					Version struct {
						CompanyName string `json:"company_name"`
					}
					Signature struct{ Note string }
				}
			}
		}
		ImagesIndexed int `json:"images_indexed"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if len(res.Tags) != 2 || res.ImagesIndexed != 4 {
		t.Fatalf("%+v", res)
	}
	w := res.Tags[0]
	if w.Tag != "Wrp1" || !w.Found || len(w.Candidates) != 4 {
		t.Fatalf("Wrp1: %+v", w)
	}
	c := w.Candidates[0]
	if c.Rank != 1 || c.Evidence != "call-site" || c.Count != 1 || c.Detail.Wrapped != 1 ||
		c.Driver.Version.CompanyName != "Contoso Ltd." || !strings.HasPrefix(c.Driver.Signature.Note, "no embedded signature") {
		t.Errorf("first Wrp1 candidate %+v", c)
	}
	if d := res.Tags[1]; d.Tag != "Dcy1" || len(d.Candidates) != 1 || d.Candidates[0].Driver.Name != "decoy.sys" {
		t.Errorf("Dcy1: %+v", d)
	}
}

func TestTagDump(t *testing.T) {
	img, err := os.ReadFile(filepath.Join(synthDrivers, "contoso_x64.sys"))
	if err != nil {
		t.Fatal(err)
	}
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64})
	b.AddModule(dumptest.Module{Name: "contoso_x64.sys", Image: img})
	b.AddModule(dumptest.Module{Name: "decoy.sys", TimeDateStamp: 0x50000000})
	dump := filepath.Join(t.TempDir(), "memory.dmp")
	if err := b.WriteFile(dump); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	st := run([]string{"tag", "Wrp2", "--drivers", synthDrivers, "--dump", dump}, &out, &errb)
	if st != exitOK {
		t.Fatalf("exit %d: %s", st, errb.String())
	}
	for _, s := range []string{
		"driver files matched by name",
		"1  contoso_x64.sys", // the loaded file ranks first among equals
		"same build as the loaded module",
	} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("stdout lacks %q\n%s", s, out.String())
		}
	}
	// The image in memory of a driver whose file was indexed is the same
	// candidate, listed once, from the file (as the report lists it).
	if strings.Contains(out.String(), "dump:") {
		t.Errorf("a driver is listed from its file and again from the dump\n%s", out.String())
	}
	// Without driver files, the loaded image alone answers.
	out.Reset()
	if st := run([]string{"tag", "Tst1", "--dump", dump}, &out, &errb); st != exitOK || !strings.Contains(out.String(), "1  contoso_x64.sys") ||
		!strings.Contains(out.String(), "image read from the dump") || !strings.Contains(out.String(), "signature: not in memory") {
		t.Errorf("exit %d\n%s", st, out.String())
	}
}

// TestListTagsWeak: immediates never passed to a pool routine are left out
// by default and marked weak with --weak, in text and JSON.
func TestListTagsWeak(t *testing.T) {
	file := filepath.Join(synthDrivers, "contoso_x64.sys")
	var out, errb bytes.Buffer
	if st := run([]string{"tag", "--list-tags", file}, &out, &errb); st != exitOK || strings.Contains(out.String(), "Oth1") {
		t.Fatalf("exit %d, Oth1 listed without --weak:\n%s%s", st, out.String(), errb.String())
	}
	for _, weak := range []bool{false, true} {
		args := []string{"tag", "--list-tags", file, "--json"}
		if weak {
			args = append(args, "--weak")
		}
		out.Reset()
		if st := run(args, &out, &errb); st != exitOK {
			t.Fatalf("%v: exit %d: %s", args, st, errb.String())
		}
		var res struct {
			Tags []struct {
				Tag  string `json:"tag"`
				Weak bool   `json:"weak"`
			} `json:"tags"`
			WeakOmitted int `json:"weak_omitted"`
		}
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		weakSeen := 0
		for _, u := range res.Tags {
			if u.Weak != (u.Tag == "Oth1") {
				t.Errorf("--weak=%v: %s marked weak=%v", weak, u.Tag, u.Weak)
			}
			if u.Weak {
				weakSeen++
			}
		}
		if want := map[bool]int{false: 0, true: 1}[weak]; weakSeen != want || res.WeakOmitted != 1-want || len(res.Tags) != 5+want {
			t.Errorf("--weak=%v: %d tags, %d weak, %d omitted", weak, len(res.Tags), weakSeen, res.WeakOmitted)
		}
	}
}
