package pe

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pooltag"
)

// cacheFolder writes the fixtures, two copies of each, into a new folder.
func cacheFolder(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range petest.Fixtures() {
		img, err := petest.Build(f.Driver)
		if err != nil {
			t.Fatal(err)
		}
		for _, sub := range []string{"a", "b"} {
			if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, sub, f.Name), img, 0o444); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

// view is what a search shows of a catalog: per tag, each candidate's
// file, evidence and identity.
func view(t *testing.T, cat *Catalog, tags []string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tag := range tags {
		for _, c := range cat.Find(tagValue(tag)) {
			d := c.Driver
			id, _ := json.Marshal(d)
			fixed := ""
			if d.Version.Fixed != nil {
				fixed = fmt.Sprintf("%+v", *d.Version.Fixed)
			}
			out[tag] = append(out[tag], fmt.Sprintf("%s %+v %s %s %#x", d.Path, c.Evidence, id, fixed, d.timestamp))
		}
	}
	return out
}

func TestCacheAcrossRuns(t *testing.T) {
	dir := cacheFolder(t)
	root := t.TempDir()
	tags := []string{"Tst1", "Wrp2", "Oth1", "Dcy1", "Nope"}
	searches := [][]string{{"Tst1"}, {"Wrp2", "Oth1"}, nil, {"Dcy1", "Nope"}}
	for _, s := range searches {
		var want []pooltag.Tag
		for _, tg := range s {
			want = append(want, tagValue(tg))
		}
		plain, err := Index(context.Background(), []string{dir}, IndexOptions{Tags: want})
		if err != nil {
			t.Fatal(err)
		}
		for run := 0; run < 2; run++ { // the first run fills the cache, the second reads it
			c, err := OpenCache(root, "test")
			if err != nil {
				t.Fatal(err)
			}
			cached, err := Index(context.Background(), []string{dir}, IndexOptions{Tags: want, Cache: c})
			if err != nil {
				t.Fatal(err)
			}
			q := s
			if q == nil {
				q = tags
			}
			if a, b := view(t, plain, q), view(t, cached, q); !reflect.DeepEqual(a, b) {
				t.Errorf("search %v, run %d: without the cache\n%v\nwith it\n%v", s, run, a, b)
			}
			if len(cached.Drivers) != 8 || len(cached.Find(tagValue("Tst1"))) != map[bool]int{true: 8, false: 0}[contains(q, "Tst1")] {
				t.Errorf("search %v: %d drivers, Tst1 in %d", s, len(cached.Drivers), len(cached.Find(tagValue("Tst1"))))
			}
		}
	}
	// A record of another version is not seen; a damaged one is a miss.
	other, _ := OpenCache(root, "other")
	if recs, _ := filepath.Glob(filepath.Join(other.dir, "*", "*")); len(recs) != 0 {
		t.Errorf("version other sees %d records", len(recs))
	}
	c, _ := OpenCache(root, "test")
	recs, _ := filepath.Glob(filepath.Join(c.dir, "*", "*"))
	if len(recs) != 4 { // four distinct images
		t.Fatalf("%d records, want 4", len(recs))
	}
	// The second run reads the records: a changed one shows.
	img, _ := os.ReadFile(filepath.Join(dir, "a", "decoy.sys"))
	sum := sha256.Sum256(img)
	rec, ok := c.load(&sum)
	if !ok {
		t.Fatal("no record for decoy.sys")
	}
	rec.Driver.Version.CompanyName = "Changed In The Cache"
	c.store(&sum, &rec.Driver, nil)
	cat, err := Index(context.Background(), []string{dir}, IndexOptions{Tags: []pooltag.Tag{tagValue("Dcy1")}, Cache: c})
	if err != nil {
		t.Fatal(err)
	}
	if cs := cat.Find(tagValue("Dcy1")); len(cs) != 2 || cs[0].Driver.Version.CompanyName != "Changed In The Cache" {
		t.Errorf("record not read: %+v", cs)
	}
	for _, r := range recs {
		if err := os.WriteFile(r, []byte("garbage"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err = Index(context.Background(), []string{dir}, IndexOptions{Tags: []pooltag.Tag{tagValue("Tst1")}, Cache: c})
	if err != nil || len(cat.Find(tagValue("Tst1"))) != 8 || cat.Find(tagValue("Tst1"))[0].CallSites != 2 {
		t.Errorf("damaged records: %v, %d candidates", err, len(cat.Find(tagValue("Tst1"))))
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestCacheConcurrentRuns: runs sharing a cache folder at the same time
// all answer alike.
func TestCacheConcurrentRuns(t *testing.T) {
	dir := cacheFolder(t)
	root := t.TempDir()
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := OpenCache(root, "test")
			if err != nil {
				errs <- err.Error()
				return
			}
			cat, err := Index(context.Background(), []string{dir}, IndexOptions{Tags: []pooltag.Tag{tagValue("Wrp1")}, Cache: c, Workers: 2})
			if err != nil {
				errs <- err.Error()
				return
			}
			if n := len(cat.Find(tagValue("Wrp1"))); n != 8 {
				errs <- "Wrp1 candidates: " + string(rune('0'+n))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	c, _ := OpenCache(root, "test")
	if tmp, _ := filepath.Glob(filepath.Join(c.dir, "*", ".tmp-*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}
