package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pool/pooltest"
)

// TestARM32EndToEnd: a generated Windows 10 IoT Core (ARM32, build
// 17134) kernel dump, its memory behind ARMv7 short-descriptor tables,
// with a module list, KDBG and 28-byte tracker tables on four CPUs, and
// a leak planted under a third-party ARM32 driver's tag: the whole
// report names that driver. Thumb-2 call sites are not decoded, so the
// evidence is the tag as an immediate (medium at most) and the report
// says why.
func TestARM32EndToEnd(t *testing.T) {
	const cpus = 4
	cfg := dumptest.Config{Arch: dumpfile.ArchARM32, Build: 17134, CPUs: cpus, Type: dumpfile.TypeBitmapFull,
		BugCheck: 0xE2, SystemTime: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Uptime: 6 * 24 * time.Hour,
		MemoryPages: 0x40000, Seed: 32}
	b := dumptest.New(cfg)
	_, err := pooltest.Plant(b, cfg, pooltest.Scenario{TableSize: 513, NonPagedMax: 256 << 20, PagedMax: 384 << 20,
		Tags: []pooltest.TagSpec{
			pooltest.Leak("RpiL", false, 400000, 512, 90000, cpus), // 195 MiB: the leak
			pooltest.Leak("Irp ", false, 2000, 256, 800000, cpus),
			pooltest.Leak("MmSt", true, 3000, 4096, 20000, cpus),
			pooltest.Leak("Ntff", true, 5000, 1024, 60000, cpus),
		}})
	if err != nil {
		t.Fatal(err)
	}
	img, err := petest.Build(petest.Driver{Machine: petest.ARMNT, AllocTags: []uint32{petest.Tag("RpiL")}, TimeDateStamp: 0x5AE0F000,
		Version: &petest.Version{CompanyName: "Contoso Ltd.", FileDescription: "Contoso sensor hub", FileVersion: [4]uint16{1, 2, 0, 0}}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	drivers := filepath.Join(dir, "drivers")
	if err := os.Mkdir(drivers, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(drivers, "rpileak.sys"), img, 0o644); err != nil {
		t.Fatal(err)
	}
	b.AddModule(dumptest.Module{Name: "rpileak.sys", Image: img, DiscardImports: true})
	name := filepath.Join(dir, "iot-arm32.dmp")
	if err := b.WriteFile(name); err != nil {
		t.Fatal(err)
	}
	f, err := dumpfile.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := Build(context.Background(), f, Options{DriverDirs: []string{drivers}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Pool == nil {
		t.Fatalf("no pool analysis: %s", r.PoolError)
	}
	if v := r.Verdict; len(v.Culprits) != 1 || v.Culprits[0].Driver != "rpileak.sys" || v.Confidence != analysis.Medium {
		t.Fatalf("culprits %+v, confidence %v; sentences %q", v.Culprits, v.Confidence, v.Sentences)
	}
	if p := r.Pool; p.PerCPU != cpus || p.OneCPUOnly {
		t.Errorf("per-CPU tables %d (one CPU only %v), want %d", p.PerCPU, p.OneCPUOnly, cpus)
	}
	var sb strings.Builder
	if err := Render(&sb, r, Text, RenderOptions{}); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{"arm32", "Culprit: rpileak.sys", "RpiL", "Thumb-2"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
