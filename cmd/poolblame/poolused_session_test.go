package main

import (
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/pooltag"
)

// sessionPoolDump writes a dump with two sessions: session 1 leaks desktop
// heap (Gh05) and win32k objects (Gla5), session 0 holds a little.
func sessionPoolDump(t *testing.T, cfg dumptest.Config) (string, map[uint32][]pool.Usage) {
	t.Helper()
	b := dumptest.New(cfg)
	want, err := pooltest.PlantSessions(b, cfg, []pooltest.SessionSpec{
		{ID: 0, Processes: []string{"csrss.exe", "winlogon.exe"}, Tags: []pool.Usage{
			{Tag: pooltag.MustTag("Usqm"), NonPagedAllocs: 9, NonPagedFrees: 4, NonPagedBytes: 320},
		}},
		{ID: 1, Processes: []string{"csrss.exe", "winlogon.exe", "explorer.exe"}, Tags: []pool.Usage{
			{Tag: pooltag.MustTag("Gh05"), PagedAllocs: 51000, PagedFrees: 1000, PagedBytes: 51200000},
			{Tag: pooltag.MustTag("Gla5"), PagedAllocs: 700, PagedFrees: 200, PagedBytes: 64000},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "session.dmp")
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path, want
}

func TestPoolusedSession(t *testing.T) {
	for _, cfg := range []dumptest.Config{
		{Arch: dumpfile.ArchX86PAE, Build: 3790, Seed: 1},
		{Arch: dumpfile.ArchAMD64, Build: 7601, Seed: 1},
		{Arch: dumpfile.ArchAMD64, Build: 14393, Seed: 1}, // the tracker is MM_SESSION_SPACE.PoolTags
		{Arch: dumpfile.ArchAMD64, Build: 17763, Seed: 1},
	} {
		t.Run(cfg.Arch.String(), func(t *testing.T) {
			dump, want := sessionPoolDump(t, cfg)
			out, errs, st := runCmd(t, "poolused", dump, "--session", "--sort", "paged")
			if st != 0 || errs != "" {
				t.Fatalf("status %d: %s", st, errs)
			}
			for _, w := range []string{
				"Session 0 (2 processes: csrss.exe, winlogon.exe): MM_SESSION_SPACE 0x",
				"Session 1 (3 processes: csrss.exe, winlogon.exe, explorer.exe)",
				"   Sorting by  Paged Pool Consumed",
				" Usqm        5      320         0        0UNKNOWN pooltag 'Usqm'",
				" Gh05        0        0     50000 51200000UNKNOWN pooltag 'Gh05'",
				" TOTAL       0        0     50500 51264000",
			} {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if where := "tracker (PoolTags) at 0x"; (cfg.Build >= 14393) != strings.Contains(out, where) {
				t.Errorf("build %d: %q in the output is %v:\n%s", cfg.Build, where, strings.Contains(out, where), out)
			}
			if strings.Index(out, " Gh05") > strings.Index(out, " Gla5") {
				t.Errorf("not sorted by paged bytes:\n%s", out)
			}

			out, _, st = runCmd(t, "poolused", dump, "--session", "--json")
			var j sessionPoolsJSON
			if err := json.Unmarshal([]byte(out), &j); err != nil || st != 0 || !j.Read || len(j.Sessions) != 2 {
				t.Fatalf("json: %v, status %d\n%s", err, st, out)
			}
			for _, s := range j.Sessions {
				if len(s.Tags) != len(want[s.ID]) {
					t.Fatalf("session %d: %d tags, want %d", s.ID, len(s.Tags), len(want[s.ID]))
				}
				for i, tg := range s.Tags {
					u := want[s.ID][i]
					if tg.Tag != u.Tag.String() || tg.PagedBytes != u.PagedBytes || tg.NonPagedDiff != u.NonPagedOutstanding() {
						t.Errorf("session %d tag %d: %+v, want %+v", s.ID, i, tg, u)
					}
				}
			}

			out, _, st = runCmd(t, "poolused", dump, "--session", "--csv", "--tag", "G*")
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil || st != 0 || len(rows) != 3 || rows[1][0] != "1" || rows[1][1] != "Gh05" || rows[1][9] != "51200000" {
				t.Errorf("csv %v %v: %q", err, st, out)
			}
		})
	}
}

// A dump that holds no session pool says so in one line, exit status 3.
func TestPoolusedSessionNone(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 20348, Seed: 2})
	dump := filepath.Join(t.TempDir(), "win10.dmp")
	if err := b.WriteFile(dump); err != nil {
		t.Fatal(err)
	}
	out, errs, st := runCmd(t, "poolused", dump, "--session")
	if st != exitNoPool || errs != "" || strings.Count(out, "\n") != 1 ||
		!strings.HasPrefix(out, "session pool: not read on this build (x64, build 20348)") {
		t.Errorf("status %d, stderr %q, stdout %q", st, errs, out)
	}
	out, _, st = runCmd(t, "poolused", dump, "--session", "--json")
	var j sessionPoolsJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil || st != exitNoPool || j.Read || !strings.HasPrefix(j.Reason, "session pool: not read") {
		t.Errorf("json %v, status %d: %s", err, st, out)
	}
}

// poolused --session names the tags it read from a session's expansion
// table, in text and in JSON.
func TestPoolusedSessionExpansion(t *testing.T) {
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 17763, Seed: 2}
	b := dumptest.New(cfg)
	var tags []pool.Usage
	for i := 0; i < 127; i++ { // every slot but the last, the overflow bucket
		tags = append(tags, pool.Usage{Tag: pooltag.MustTag("G" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + "x"), PagedAllocs: 1, PagedBytes: 16})
	}
	tags = append(tags, pool.Usage{Tag: pooltag.MustTag("Leak"), PagedAllocs: 900, PagedBytes: 9000000})
	if _, err := pooltest.PlantSessions(b, cfg, []pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: tags}}); err != nil {
		t.Fatal(err)
	}
	dump := filepath.Join(t.TempDir(), "full.dmp")
	if err := b.WriteFile(dump); err != nil {
		t.Fatal(err)
	}
	out, errs, st := runCmd(t, "poolused", dump, "--session", "--sort", "paged")
	if st != 0 || errs != "" || !strings.Contains(out, "From the session's expansion table (PoolTrackTableExpansion 0xffffc28000025000, 73 entries): Leak\n") ||
		!strings.Contains(out, " Leak        0        0       900  9000000") {
		t.Errorf("status %d, %s:\n%s", st, errs, out)
	}
	out, _, _ = runCmd(t, "poolused", dump, "--session", "--json")
	var j sessionPoolsJSON
	if err := json.Unmarshal([]byte(out), &j); err != nil || len(j.Sessions) != 1 || j.Sessions[0].Expansion != "0xffffc28000025000" ||
		j.Sessions[0].ExpansionSize != 73 || strings.Join(j.Sessions[0].ExpansionTags, ",") != "Leak" || !j.Sessions[0].Full {
		t.Errorf("json: %v\n%s", err, out)
	}
}
