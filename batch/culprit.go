package batch

import (
	"context"
	"fmt"
	"strings"

	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pool"
)

// snapshotDrivers names the drivers behind the snapshot series' tags: the
// drivers in the folders holding evidence for a tag (strongest first),
// then the driver the snapshot printed beside it (poolmon's mapped
// driver, !poolused's pooltag.txt text), then pooltag.txt's entry. It
// returns a note when the folders could not be indexed.
func snapshotDrivers(ctx context.Context, series []*Series, dirs []string, cache *pe.Cache, db *pool.PooltagDB) string {
	var tags []uint32
	seen := map[uint32]bool{}
	for _, se := range series {
		for _, t := range se.Trends {
			tg, err := pool.ParseTag(t.Tag)
			if err == nil && !seen[uint32(tg)] {
				seen[uint32(tg)] = true
				tags = append(tags, uint32(tg))
			}
		}
	}
	if len(tags) == 0 {
		return ""
	}
	var cat *pe.Catalog
	var note string
	if len(dirs) > 0 {
		var err error
		if cat, err = pe.Index(ctx, dirs, pe.IndexOptions{Tags: tags, Cache: cache}); err != nil {
			note = fmt.Sprintf("driver folders for the snapshot tags: %v", err)
			cat = nil
		}
	}
	for _, se := range series {
		for _, t := range se.Trends {
			tg, err := pool.ParseTag(t.Tag)
			if err != nil {
				continue
			}
			var names []string
			add := func(n string) {
				n = strings.TrimSpace(n)
				if n == "" || strings.EqualFold(n, "<unknown>") {
					return
				}
				for _, have := range names {
					if strings.EqualFold(have, n) {
						return
					}
				}
				names = append(names, n)
			}
			if cat != nil {
				for _, c := range cat.Find(uint32(tg)) {
					add(c.Driver.Name)
				}
			}
			for _, s := range se.Snapshots {
				if d, ok := s.snap.Descriptions[tg]; ok {
					add(d.Binary)
				}
			}
			if db != nil {
				for _, e := range db.Lookup(tg) {
					add(e.Binary)
				}
			}
			t.Drivers = names
		}
	}
	return note
}
