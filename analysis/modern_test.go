package analysis_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/internal/realdata"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/report"
)

// Windows 10 and 11, x64 and ARM64, have no fixed pool maximum: the
// pressure is against physical memory, and the KDBG variables a generator
// (or an old kernel) may set are not taken as limits.
func TestModernPressureAgainstPhysicalMemory(t *testing.T) {
	for _, c := range []struct {
		arch  dumpfile.Arch
		build uint32
	}{
		{dumpfile.ArchAMD64, 17763}, {dumpfile.ArchAMD64, 19041}, {dumpfile.ArchAMD64, 22621},
		{dumpfile.ArchARM64, 19041}, {dumpfile.ArchARM64, 22000},
	} {
		t.Run(fmt.Sprintf("%v/%d", c.arch, c.build), func(t *testing.T) {
			cfg := dumptest.Config{Arch: c.arch, Build: c.build, CPUs: 2, Type: dumpfile.TypeBitmapFull, MemoryPages: 0x40000, Seed: 5}
			b := dumptest.New(cfg)
			// 400 MiB of nonpaged pool in one tag on a 1 GiB machine.
			if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{
				Tags:        []pooltest.TagSpec{pooltest.Leak("Leak", false, 400<<10, 1024, 1000, 2), pooltest.Leak("Ppag", true, 1000, 4096, 10, 2)},
				NonPagedMax: 128 << 20, PagedMax: 512 << 30,
			}); err != nil {
				t.Fatal(err)
			}
			f := pooltest.Open(t, b, "modern.dmp")
			r, err := analysis.Analyze(context.Background(), analysis.FromDump(f), analysis.Options{NoDumpImages: true})
			if err != nil || r.Pool == nil {
				t.Fatalf("%v %v", err, r.PoolErr)
			}
			np := r.Pool.NonPaged
			if !np.NoFixedMax || np.Max != 0 || np.PhysicalBytes != 1<<30 || int(np.OfPhysical) != 39 || np.Short() != (np.OfPhysical >= 50) {
				t.Errorf("nonpaged %+v", np)
			}
			if r.Pool.Paged.Max != 0 || r.Pool.HTTPSysApplies || r.Pool.HTTPSys != nil {
				t.Errorf("paged %+v, HTTP.SYS applies %v", r.Pool.Paged, r.Pool.HTTPSysApplies)
			}
			var out bytes.Buffer
			if err := report.Render(&out, report.New(r, report.Display{}), report.Text, report.RenderOptions{}); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"of 1.0 GiB physical memory", "no fixed maximum on this build", "does not apply to this build"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("report lacks %q", want)
				}
			}
			for _, not := range []string{"128.0 MiB", "exhausted in"} {
				if strings.Contains(out.String(), not) {
					t.Errorf("report has %q", not)
				}
			}
		})
	}
}

// The real Windows 10 1809 pages through the whole tool: an answer from
// the pages present, totals given as lower bounds, the absent ranges
// named, and no maximum invented.
func TestRealSparseDumpReport(t *testing.T) {
	f := realdata.RewindFile(t, "a")
	r, err := analysis.Analyze(context.Background(), analysis.FromDump(f), analysis.Options{NoDumpImages: true})
	if err != nil || r.Pool == nil {
		t.Fatalf("%v %v", err, r.PoolErr)
	}
	if !r.Pool.NonPaged.LowerBound || !r.Pool.Partial || r.Verdict.Confidence > analysis.Medium {
		t.Errorf("lower bound %v, partial %v, confidence %v", r.Pool.NonPaged.LowerBound, r.Pool.Partial, r.Verdict.Confidence)
	}
	var out bytes.Buffer
	if err := report.Render(&out, report.New(r, report.Display{}), report.Text, report.RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"at least", "physical memory", "PARTIAL", "physical page absent", "UNKNOWN " + pool.CheckTableComplete} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
