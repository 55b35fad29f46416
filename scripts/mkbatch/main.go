// Command mkbatch writes a folder of small generated crash dumps of one
// machine, for measuring batch runs over many dumps
// (scripts/bench-batch-mem.sh):
//
//	go run ./scripts/mkbatch -n 1000 -o /tmp/dumps
//
// Each dump is a later moment of the same machine (a few reboots along
// the way) with one tag that leaks and the rest steady, so the run has
// trends to compute. Fixed seeds: the dumps are the same on every run.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pool/pooltest"
)

func main() {
	n := flag.Int("n", 1000, "dumps to write")
	out := flag.String("o", "", "folder to write them into (created)")
	tags := flag.Int("tags", 60, "tags per dump")
	flag.Parse()
	if *out == "" || *n < 1 || *tags < 2 {
		log.Fatal("usage: mkbatch -n N -o DIR [-tags T]")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	drivers, err := driverImages()
	if err != nil {
		log.Fatal(err)
	}
	for i := 0; i < *n; i++ {
		if err := writeDump(filepath.Join(*out, fmt.Sprintf("m1-%05d.dmp", i)), i, *tags, drivers); err != nil {
			log.Fatalf("dump %d: %v", i, err)
		}
	}
}

// driverImages are three small drivers, each allocating one of the tags.
func driverImages() ([][]byte, error) {
	var imgs [][]byte
	for d := 0; d < 3; d++ {
		img, err := petest.Build(petest.Driver{Machine: petest.X64, AllocTags: []uint32{petest.Tag(fmt.Sprintf("T%03d", d))}, TimeDateStamp: uint32(0x60000000 + d)})
		if err != nil {
			return nil, err
		}
		imgs = append(imgs, img)
	}
	return imgs, nil
}

// writeDump writes dump i: the machine reboots every 50 dumps; T000 leaks
// within each boot.
func writeDump(path string, i, ntags int, drivers [][]byte) error {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	up := time.Duration(1+i%50) * time.Hour
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 2,
		SystemTime: start.Add(time.Duration(i) * time.Hour), Uptime: up, BugCheck: 0x19, Seed: int64(7000 + i)}
	b := dumptest.New(cfg)
	specs := []pooltest.TagSpec{pooltest.Leak("T000", false, uint64(200+(i%50)*400), 256, 5000, 2)}
	for k := 1; k < ntags; k++ {
		specs = append(specs, pooltest.Leak(fmt.Sprintf("T%03d", k), k%3 == 0, uint64(100+k*37), uint64(64+k%64*16), uint64(5000+k), 2))
	}
	if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: specs, NonPagedMax: 8 << 30}); err != nil {
		return err
	}
	for d, img := range drivers {
		b.AddModule(dumptest.Module{Name: fmt.Sprintf("drv%d.sys", d), Image: img})
	}
	return b.WriteFile(path)
}
