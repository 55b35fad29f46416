package report

import (
	"context"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool/pooltest"
)

// A dump whose pool pages hold what the tracker claims for 'Leak': the
// report's scan section says so in every form, and the JSON validates.
func TestReportPoolScan(t *testing.T) {
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7601, CPUs: 2, Seed: 31}
	b := dumptest.New(cfg)
	if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: []pooltest.TagSpec{pooltest.Leak("Leak", false, 100, 0x40, 10, 2)}, NonPagedMax: 1 << 20}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		blocks := make([]dumptest.PoolBlock, 50)
		for i := range blocks {
			blocks[i] = dumptest.PoolBlock{Tag: "Leak", Size: 0x40, Data: []byte("\\REGISTRY\\MACHINE\\SOFTWARE")}
		}
		b.ClassicPoolPage(b.Alloc(dumptest.PageSize, dumptest.PageSize), blocks)
	}
	f := pooltest.Open(t, b, "scan.dmp")
	r, err := Build(context.Background(), f, Options{ScanPool: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.PoolScan == nil || len(r.PoolScan.Checks) == 0 || r.PoolScan.Checks[0].Agreement != "consistent" {
		t.Fatalf("scan %+v", r.PoolScan)
	}
	want := map[Format][]string{
		Text:     {"POOL SCAN", "tracker 100, found 100 in present pages: consistent", `100% contain "\\REGISTRY\\MACHINE\\SOFTWARE" (ASCII)`, "0x40"},
		Markdown: {"## Pool scan", "### What `Leak` blocks hold", "| 0x40 | 100 |"},
		HTML:     {"<h2>Pool scan</h2>", "Leak blocks by size", "<pre class=\"mono\">"},
		JSON:     {`"pool_scan"`, `"agreement": "consistent"`},
	}
	for format, ws := range want {
		out := string(render(t, r, format, RenderOptions{}))
		for _, w := range ws {
			if !strings.Contains(out, w) {
				t.Errorf("%v lacks %q", format, w)
			}
		}
	}
	if err := validate(compileSchema(t), render(t, r, JSON, RenderOptions{})); err != nil {
		t.Errorf("schema: %v", err)
	}
}
