package report

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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

// A session whose fixed table is full: the tags read from its expansion
// table are named and marked in every form (Windows 7 x64), or the
// report says the overflow is counted under Ovfl (Server 2003, which
// keeps no expansion table); poolused --session says the same.
func TestReportSessionExpansion(t *testing.T) {
	for _, c := range []struct {
		name  string
		cfg   dumptest.Config
		fixed int      // free slots of the fixed table: size - 1
		want  []string // in the text, white space folded
		md    string
	}{
		{"7 x64", dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7601, CPUs: 1, Seed: 4}, 127, []string{
			"2 tags from the session's expansion table (PoolTrackTableExpansion 0xfffff90000004000, 102 entries), marked *: Leak, Zz99",
			"Leak 0 0 10,000 40,960,000 *",
		}, "- 2 tags from the session's expansion table (PoolTrackTableExpansion 0xfffff90000004000, 102 entries), marked \\*: Leak, Zz99."},
		{"2003 x86", dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 3790, CPUs: 1, Seed: 4}, 255, []string{
			"the session's tracker table is full and it has no expansion table: tags that did not fit are counted under Ovfl",
			"Ovfl 0 0 10,001 40,960,016",
		}, "- the session's tracker table is full and it has no expansion table: tags that did not fit are counted under Ovfl, not under their own tags."},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := dumptest.New(c.cfg)
			if _, err := pooltest.Plant(b, c.cfg, pooltest.Scenario{Tags: []pooltest.TagSpec{pooltest.Leak("Sys1", false, 10, 64, 0, 1)}}); err != nil {
				t.Fatal(err)
			}
			var tags []pool.Usage
			for i := 0; i < c.fixed; i++ {
				tags = append(tags, pool.Usage{Tag: pooltag.MustTag(fmt.Sprintf("G%03d", i)), PagedAllocs: 1, PagedBytes: 16})
			}
			tags = append(tags, pool.Usage{Tag: pooltag.MustTag("Leak"), PagedAllocs: 10000, PagedBytes: 40960000},
				pool.Usage{Tag: pooltag.MustTag("Zz99"), PagedAllocs: 1, PagedBytes: 16})
			if _, err := pooltest.PlantSessions(b, c.cfg, []pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: tags}}); err != nil {
				t.Fatal(err)
			}
			r, err := Build(context.Background(), pooltest.Open(t, b, "full.dmp"), Options{})
			if err != nil {
				t.Fatal(err)
			}
			var text, md, js bytes.Buffer
			for f, w := range map[Format]*bytes.Buffer{Text: &text, Markdown: &md, JSON: &js} {
				if err := Render(w, r, f, RenderOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			folded := strings.Join(strings.Fields(text.String()), " ")
			for _, w := range c.want {
				if !strings.Contains(folded, w) {
					t.Errorf("text lacks %q:\n%s", w, text.String())
				}
			}
			if !strings.Contains(md.String(), c.md) {
				t.Errorf("markdown lacks %q:\n%s", c.md, md.String())
			}
			var back Report
			if err := json.Unmarshal(js.Bytes(), &back); err != nil {
				t.Fatal(err)
			}
			s := back.SessionPool.Sessions[0]
			if c.cfg.Build == 3790 {
				if !s.OverflowInOvfl || s.Expansion != "" || s.ExpansionTags != nil || !s.Full {
					t.Errorf("JSON session: %+v", s)
				}
				return
			}
			if s.OverflowInOvfl || s.Expansion != "0xfffff90000004000" || s.ExpansionSize != 102 ||
				strings.Join(s.ExpansionTags, ",") != "Leak,Zz99" || s.Tags[0].Tag != "Leak" || !s.Tags[0].FromExpansion || s.Tags[1].FromExpansion {
				t.Errorf("JSON session: %+v", s)
			}
		})
	}
}

// The line saying which candidate place of the tracker the data
// confirmed is in every form, as is the line of --session.
func TestReportSessionPlacement(t *testing.T) {
	const line = "tracker placement chosen by the data, not the symbols: PoolTags at 0x1000"
	sp := &pool.SessionPools{Read: true, Placement: line, Sessions: []pool.SessionPool{{ID: 1, Processes: []string{"csrss.exe"}, Table: 0x1000, TableSize: 256}}}
	r := &Report{SessionPool: sessionSection(sp, Display{})}
	for _, f := range []Format{Text, Markdown, HTML, JSON} {
		var out bytes.Buffer
		if err := Render(&out, r, f, RenderOptions{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), line) {
			t.Errorf("%v: no placement line in\n%s", f, out.String())
		}
	}
	var out bytes.Buffer
	if err := WriteSessionPoolused(&out, sp, pool.Selection{}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), line+"\n") {
		t.Errorf("--session output does not begin with the placement line:\n%s", out.String())
	}
}
