package report

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/pooltag"
)

// A Server 2003 dump with two sessions: the report has a session pool
// section in every form, the JSON carries each session's tags, and the
// leaking session's desktop heap tag leads its table.
func TestReportSessionPool(t *testing.T) {
	cfg := dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 3790, CPUs: 1, Seed: 9}
	b := dumptest.New(cfg)
	if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: []pooltest.TagSpec{pooltest.Leak("Leak", false, 100, 64, 0, 1)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := pooltest.PlantSessions(b, cfg, []pooltest.SessionSpec{
		{ID: 0, Processes: []string{"csrss.exe"}, Tags: []pool.Usage{{Tag: pooltag.MustTag("Usqm"), PagedAllocs: 3, PagedBytes: 96}}},
		{ID: 2, Processes: []string{"csrss.exe", "winlogon.exe", "iexplore.exe"}, Tags: []pool.Usage{
			{Tag: pooltag.MustTag("Gla5"), PagedAllocs: 10, PagedBytes: 1280},
			{Tag: pooltag.MustTag("Gh05"), PagedAllocs: 40000, PagedFrees: 10, PagedBytes: 163807232},
		}},
	}); err != nil {
		t.Fatal(err)
	}
	f := pooltest.Open(t, b, "ts.dmp")
	r, err := Build(context.Background(), f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	sp := r.SessionPool
	if sp == nil || !sp.Read || len(sp.Sessions) != 2 {
		t.Fatalf("session pool %+v", sp)
	}
	s := sp.Sessions[1]
	if s.ID != 2 || s.PagedBytes != 163807232+1280 || len(s.Tags) != 2 || s.Tags[0].Tag != "Gh05" || s.Tags[0].PagedAllocs != 39990 {
		t.Errorf("session 2: %+v", s)
	}
	for _, c := range []struct {
		f    Format
		want []string
	}{
		{Text, []string{"SESSION POOL (!poolused 8)", "Session 2 (3 processes: csrss.exe, winlogon.exe, iexplore.exe): 156.2 MiB paged, 0 B nonpaged in 2", "    Gh05               0               0          39,990     163,807,232"}},
		{Markdown, []string{"## Session pool", "| `Gh05` | 0 | 0 | 39,990 | 163,807,232 |"}},
		{HTML, []string{"<h2>Session pool</h2>", "<td class=\"tag\">Gh05</td>"}},
	} {
		var out bytes.Buffer
		if err := Render(&out, r, c.f, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v lacks %q:\n%s", c.f, w, out.String())
			}
		}
	}
	var out bytes.Buffer
	if err := Render(&out, r, JSON, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(out.Bytes(), &back); err != nil || back.SessionPool == nil || len(back.SessionPool.Sessions[1].Tags) != 2 ||
		back.SessionPool.Sessions[1].Tags[0].PagedBytes != 163807232 {
		t.Errorf("JSON: %v %+v", err, back.SessionPool)
	}
}
