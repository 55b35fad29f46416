package batch

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pool/pooltest"
)

// The generated archive: two machines over six weeks.
//
// Machine A (build 19041, 4 CPUs, 512 MiB) runs leakflt.sys, whose tag
// Leak grows 48 MiB a day; a large tag Flat (600 MiB) and a middle one
// Big2 (200 MiB) sit at a steady size from boot on, so Flat is the
// largest tag in every dump and its rate since boot is high in the dumps
// taken soon after a boot. Machine B (build 22621, 8 CPUs, 1 GiB) has the
// steady tags and no leak.

const (
	mib64     = uint64(1 << 20)
	leakPerDy = 48 * mib64
)

type machine struct {
	name   string
	cfg    dumptest.Config
	leak   bool
	folder string
}

// plannedDump is one dump of the archive and how it is stored.
type plannedDump struct {
	m         *machine
	boot      time.Time
	uptime    time.Duration
	live      bool   // a live kernel dump (the machine kept running)
	container string // "", "zip", "zipstore", "gz", "zst"
	name      string
}

func (p plannedDump) when() time.Time { return p.boot.Add(p.uptime) }

// steadyTags are the tags every dump holds at a steady size, with a
// small deterministic wobble.
func steadyTags(seed int, cpus int) []pooltest.TagSpec {
	wobble := func(base uint64, k int) uint64 { // within ±1%
		return base + base/100*uint64((seed*7+k*13)%3) - base/100
	}
	specs := []pooltest.TagSpec{
		pooltest.Leak("Flat", false, wobble(600*mib64, 1)/4096, 4096, 1000, cpus),
		pooltest.Leak("Big2", false, wobble(200*mib64, 2)/2048, 2048, 5000, cpus),
		pooltest.Leak("PgA", true, wobble(300*mib64, 3)/4096, 4096, 9000, cpus),
		pooltest.Leak("PgB", true, wobble(50*mib64, 4)/1024, 1024, 9000, cpus),
	}
	for i := 0; i < 6; i++ {
		tag := fmt.Sprintf("Sm%02d", i)
		specs = append(specs, pooltest.Leak(tag, false, wobble(uint64(4+3*i)*mib64, 5+i)/256, 256, 20000, cpus))
	}
	return specs
}

// buildDump returns the bytes of one planned dump.
func buildDump(t testing.TB, p plannedDump, seed int) []byte {
	t.Helper()
	cfg := p.m.cfg
	cfg.SystemTime = p.when()
	cfg.Uptime = p.uptime
	cfg.Seed = int64(seed)
	cfg.BugCheck = 0x19
	if p.live {
		cfg.Type = dumpfile.TypeBitmapKernel
		cfg.BugCheck = 0x161 // LIVE_SYSTEM_DUMP
	}
	b := dumptest.New(cfg)
	tags := steadyTags(seed, int(cfg.CPUs))
	if p.m.leak {
		bytes := uint64(p.uptime.Hours() / 24 * float64(leakPerDy))
		tags = append(tags, pooltest.Leak("Leak", false, bytes/512, 512, 300000, int(cfg.CPUs)))
	}
	if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: tags, NonPagedMax: 2 << 30, PagedMax: 4 << 30}); err != nil {
		t.Fatal(err)
	}
	if p.m.leak {
		img, err := petest.Build(petest.Driver{Machine: petest.X64, AllocTags: []uint32{petest.Tag("Leak")}, TimeDateStamp: 0x65000000})
		if err != nil {
			t.Fatal(err)
		}
		b.AddModule(dumptest.Module{Name: "leakflt.sys", Image: img})
	}
	data, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// archive is a generated folder of dumps and what the tests expect of it.
type archive struct {
	dir      string
	dumps    int // dump inputs, including the corrupt and the triage one
	reports  int // dumps that get reports
	corrupt  string
	triage   string
	plainDmp string // a plain dump file the tests may change
}

// writeArchive builds the archive under dir: 11 dumps of A (6 boots,
// five with a live dump a day before the crash) and 10 of B, some
// zipped (deflated and stored), some .gz, one .zst, a corrupt file and a
// triage dump.
func writeArchive(t testing.TB, dir string) archive {
	t.Helper()
	a := &machine{name: "A", leak: true, folder: "machineA",
		cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 4, MemoryPages: 0x20000}}
	bm := &machine{name: "B", folder: "machineB",
		cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 22621, CPUs: 8, MemoryPages: 0x40000}}
	start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	var plan []plannedDump
	for k := 0; k < 6; k++ {
		boot := start.Add(time.Duration(k*7*24) * time.Hour)
		up := time.Duration(2+k%3*2)*24*time.Hour + 3*time.Hour // 2, 4 or 6 days
		if k > 0 {
			plan = append(plan, plannedDump{m: a, boot: boot, uptime: up - 24*time.Hour, live: true})
		}
		plan = append(plan, plannedDump{m: a, boot: boot, uptime: up})
	}
	for k := 0; k < 5; k++ {
		boot := start.Add(time.Duration(k*8*24+30) * time.Hour)
		up := time.Duration(1+k%2*3)*24*time.Hour + 5*time.Hour
		plan = append(plan, plannedDump{m: bm, boot: boot, uptime: up - 20*time.Hour, live: true},
			plannedDump{m: bm, boot: boot, uptime: up})
	}
	containers := map[int]string{1: "zip", 4: "zip", 6: "gz", 8: "zst", 13: "zipstore", 15: "gz", 18: "zip"}
	zips := map[string]*zip.Writer{}
	zipBufs := map[string]*bytes.Buffer{}
	ar := archive{dir: dir}
	for i := range plan {
		p := &plan[i]
		p.container = containers[i]
		p.name = fmt.Sprintf("%s-%s", p.m.name, p.when().Format("20060102-1504"))
		data := buildDump(t, *p, 100+i)
		folder := filepath.Join(dir, p.m.folder)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			t.Fatal(err)
		}
		switch p.container {
		case "":
			path := filepath.Join(folder, p.name+".dmp")
			write(t, path, data)
			if ar.plainDmp == "" {
				ar.plainDmp = path
			}
		case "gz":
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(data)
			zw.Close()
			write(t, filepath.Join(folder, p.name+".dmp.gz"), buf.Bytes())
		case "zst":
			enc, _ := zstd.NewWriter(nil)
			write(t, filepath.Join(folder, p.name+".dmp.zst"), enc.EncodeAll(data, nil))
			enc.Close()
		case "zip", "zipstore":
			zname := filepath.Join(dir, "old-"+p.m.name+".zip")
			if zips[zname] == nil {
				zipBufs[zname] = new(bytes.Buffer)
				zips[zname] = zip.NewWriter(zipBufs[zname])
			}
			method := zip.Deflate
			if p.container == "zipstore" {
				method = zip.Store
			}
			w, err := zips[zname].CreateHeader(&zip.FileHeader{Name: p.m.folder + "/" + p.name + ".dmp", Method: method, Modified: p.when()})
			if err != nil {
				t.Fatal(err)
			}
			w.Write(data)
		}
		ar.dumps++
		ar.reports++
	}
	for name, zw := range zips {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		write(t, name, zipBufs[name].Bytes())
	}

	// A corrupt dump: a real header whose body was lost, then garbage
	// over the dump type and memory description.
	bad := buildDump(t, plannedDump{m: a, boot: start, uptime: 30 * time.Hour}, 99)[:0x2000]
	for i := 0xF98; i < 0x1060; i++ {
		bad[i] = byte(i * 31)
	}
	ar.corrupt = filepath.Join(dir, a.folder, "broken.dmp")
	write(t, ar.corrupt, bad)
	ar.dumps++

	tcfg := a.cfg
	tcfg.Type = dumpfile.TypeTriage
	tcfg.SystemTime = start.Add(40 * 24 * time.Hour)
	tcfg.Uptime = 50 * time.Hour
	tcfg.BugCheck = 0x7E
	tb, err := dumptest.New(tcfg).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	ar.triage = filepath.Join(dir, a.folder, "minidump-triage.dmp")
	write(t, ar.triage, tb)
	ar.dumps++
	ar.reports++

	// Files that are none of ours are ignored.
	write(t, filepath.Join(dir, "README.txt"), []byte("dumps collected from the fleet\n"))
	return ar
}

func write(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
