package snapshot

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/internal/realdata"
	"github.com/poolblame/poolblame/pooltag"
)

// seed adds every fixture whose name starts with prefix, and the real
// files given, to the fuzz corpus.
func seed(f *testing.F, prefix string, real ...string) {
	names, err := filepath.Glob(filepath.Join("testdata", prefix+"*"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no %s* fixtures: %v", prefix, err)
	}
	for _, n := range names {
		f.Add(readFixture(f, filepath.Base(n)))
	}
	for _, n := range real {
		// Real seeds are optional: a fresh clone fuzzes the fixtures alone.
		if _, ok := realdata.Lookup("snapshots/" + n); ok {
			f.Add(readReal(f, n))
		}
	}
}

// checkSnapshot holds for every snapshot a parser returns.
func checkSnapshot(t *testing.T, s *Snapshot) {
	seen := map[pooltag.Tag]bool{}
	for _, u := range s.Usages {
		if seen[u.Tag] {
			t.Fatalf("tag %s listed twice", u.Tag)
		}
		seen[u.Tag] = true
		if strings.Contains(u.Tag.String(), `\x`) {
			t.Fatalf("tag %q has a non-printable byte", u.Tag.String())
		}
	}
	for tag := range s.Descriptions {
		if !seen[tag] {
			t.Fatalf("description for %s, which has no usage", tag)
		}
	}
	for tag, o := range s.Outstanding {
		u, ok := s.Usage(tag)
		if !ok || u.NonPagedOutstanding() != o[0] || u.PagedOutstanding() != o[1] {
			t.Fatalf("outstanding %v for %s disagrees with usage %+v", o, tag, u)
		}
	}
}

func FuzzParsePoolmon(f *testing.F) {
	seed(f, "poolmon", "poolmon-b-iis6-connections-refused.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		if s, err := ParsePoolmon(bytes.NewReader(data), "fuzz"); err == nil {
			checkSnapshot(t, s)
		}
		if snaps, err := ParsePoolmonLog(bytes.NewReader(data), "fuzz"); err == nil {
			for _, s := range snaps {
				checkSnapshot(t, s)
			}
		}
	})
}

func FuzzParsePoolused(f *testing.F) {
	seed(f, "poolused")
	f.Add([]byte(verbose))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParsePoolused(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		checkSnapshot(t, s)
		if s.Outstanding != nil && len(s.Outstanding) > len(s.Usages) {
			t.Fatalf("%d outstanding entries for %d usages", len(s.Outstanding), len(s.Usages))
		}
	})
}

func FuzzParseHTTPErr(f *testing.F) {
	seed(f, "httperr", "httperr-connections-refused.log")
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := ParseHTTPErr(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		total := 0
		for _, r := range rs {
			if r.Count < 0 {
				t.Fatalf("negative count %+v", r)
			}
			total += r.Count
		}
		sum := 0
		for _, h := range RefusalsPerHour(rs) {
			sum += h.Count
		}
		if sum != total {
			t.Fatalf("per-hour sum %d, refusals %d", sum, total)
		}
	})
}

func FuzzParsePerfmon(f *testing.F) {
	f.Add([]byte(`"(PDH-CSV 4.0) (GMT Standard Time)(0)","\\H\Memory\Pool Nonpaged Bytes","\\H\Process(a#1)\Handle Count"` + "\n" +
		`"09/02/2005 16:00:00.000","100.000000"," "` + "\n" + `"09/02/2005 17:00:00.000","200.000000","4"` + "\n"))
	f.Add([]byte("\"(PDH-TSV 4.0)\"\t\"\\Memory\\Pool Paged Bytes\"\n\"1/2/2006 15:04:05\"\t\"1\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		log, err := ParsePerfmon(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		for _, c := range log.Counters {
			if len(c.Values) != len(log.Times) {
				t.Fatalf("%s: %d values for %d times", c.Path, len(c.Values), len(log.Times))
			}
			if tr := c.Trend(log.Times); tr.Samples > len(log.Times) {
				t.Fatalf("trend of %d samples from %d times", tr.Samples, len(log.Times))
			}
		}
	})
}
