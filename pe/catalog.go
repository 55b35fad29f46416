package pe

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/poolblame/poolblame/internal/peimage"
	"github.com/poolblame/poolblame/internal/walk"

	"github.com/poolblame/poolblame/pooltag"
)

// Warning is a file that could not be scanned, and why.
type Warning struct {
	Path string
	Err  error
}

func (w Warning) String() string { return w.Err.Error() }

// IndexOptions tune Index.
type IndexOptions struct {
	// Tags, when not empty, limits the evidence kept to these tags
	// (protected bit ignored), and a file holding none of them is only
	// read as far as its headers: its version and signature say "not
	// read". Without Tags every tag-like value and every identity is
	// kept, which is what Catalog.Tags needs but costs more time and
	// memory.
	Tags []pooltag.Tag
	// Workers is the number of files scanned at once; 0 means GOMAXPROCS.
	Workers int
	// MaxFileSize skips larger files with a warning; 0 means 512 MiB.
	MaxFileSize int64
	// Cache, when not nil, keeps each file's scan across runs. Identical
	// files of one Index share one scan either way.
	Cache *Cache
}

// Catalog is the result of indexing driver folders: every PE image found,
// with its identity and its tag evidence, but not its bytes.
type Catalog struct {
	Drivers  []*Driver
	Warnings []Warning
	Files    int // regular files looked at
}

// Candidate is a driver that holds evidence for a tag.
type Candidate struct {
	Driver *Driver
	Tag    pooltag.Tag
	Evidence
}

// Index walks dirs recursively and scans every PE image in them,
// recognised by its MZ and PE signatures rather than its name. Files are
// opened read-only and scanned in parallel; only each file's findings are
// kept. A file that is not a PE image is skipped silently; one that claims
// to be (MZ) but is malformed becomes a Warning. A dir that cannot be read
// at all is an error.
func Index(ctx context.Context, dirs []string, opt IndexOptions) (*Catalog, error) {
	for _, d := range dirs {
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("drivers folder: %w", err)
		}
	}
	paths := make(chan string)
	results := make(chan indexResult)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// walkErr is read after results is closed, which follows the close
	// of paths, which follows the write.
	var walkErr error
	go func() {
		defer close(paths)
		walkErr = sendPaths(ctx, dirs, paths, results)
	}()
	ix := indexer{want: opt.wanted(), maxSize: opt.maxFileSize(), cache: opt.Cache,
		shared: &sharedScans{m: map[[32]byte]*sharedScan{}}}
	var wg sync.WaitGroup
	for i := 0; i < opt.workers(); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ix.scanPaths(ctx, paths, results)
		}()
	}
	go func() {
		wg.Wait()
		close(results)
	}()

	c := &Catalog{}
	for r := range results {
		c.add(r)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if walkErr != nil {
		return nil, walkErr
	}
	sort.Slice(c.Drivers, func(i, j int) bool { return c.Drivers[i].Path < c.Drivers[j].Path })
	sort.Slice(c.Warnings, func(i, j int) bool { return c.Warnings[i].Path < c.Warnings[j].Path })
	return c, nil
}

func (o IndexOptions) workers() int {
	if o.Workers <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return o.Workers
}

func (o IndexOptions) maxFileSize() int64 {
	if o.MaxFileSize <= 0 {
		return 512 << 20
	}
	return o.MaxFileSize
}

// wanted is Tags as a set without the protected bit, or nil for every
// tag.
func (o IndexOptions) wanted() map[pooltag.Tag]bool {
	if len(o.Tags) == 0 {
		return nil
	}
	want := map[pooltag.Tag]bool{}
	for _, t := range o.Tags {
		want[t.Unprotected()] = true
	}
	return want
}

// indexResult is one message to Index's collector: a file looked at
// (with its driver, or a warning, or neither for a file that is not a PE
// image), or a warning from the walk.
type indexResult struct {
	d    *Driver
	warn *Warning
	file bool
}

func (c *Catalog) add(r indexResult) {
	if r.file {
		c.Files++
	}
	if r.d != nil {
		c.Drivers = append(c.Drivers, r.d)
	}
	if r.warn != nil {
		c.Warnings = append(c.Warnings, *r.warn)
	}
}

// sendPaths walks dirs and sends each file to paths once. Links to
// folders and files are followed (each folder once); every path that
// cannot be used is a warning naming it. A folder that cannot be walked
// at all ends the walk with its error.
func sendPaths(ctx context.Context, dirs []string, paths chan<- string, results chan<- indexResult) error {
	seen := map[string]bool{}
	warn := func(p string, why error) {
		select {
		case results <- indexResult{warn: &Warning{p, why}}:
		case <-ctx.Done():
		}
	}
	visit := func(p string, _ fs.FileInfo) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		abs, _ := filepath.Abs(p)
		if seen[abs] {
			return nil
		}
		seen[abs] = true
		select {
		case paths <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	for _, dir := range dirs {
		if err := walk.Dir(dir, visit, warn); err != nil {
			return err
		}
	}
	return nil
}

// indexer is what Index's workers share: the options and the scans of
// identical files.
type indexer struct {
	want    map[pooltag.Tag]bool
	maxSize int64
	cache   *Cache
	shared  *sharedScans
}

// scanPaths is one worker: it scans the files it receives until paths is
// closed or ctx ends, reusing one buffer.
func (ix *indexer) scanPaths(ctx context.Context, paths <-chan string, results chan<- indexResult) {
	var buf []byte
	for p := range paths {
		r := indexResult{file: true}
		d, err := indexFile(p, ix.want, ix.maxSize, &buf, ix.cache, ix.shared)
		switch {
		case err != nil:
			r.warn = &Warning{p, err}
		case d != nil:
			r.d = d
		}
		select {
		case results <- r:
		case <-ctx.Done():
			return
		}
	}
}

// indexFile scans one file if its content says it is a PE image. It
// returns (nil, nil) for other files. buf is reused between files of one
// worker: nothing the scan keeps refers to it.
func indexFile(path string, want map[pooltag.Tag]bool, maxSize int64, buf *[]byte, cache *Cache, shared *sharedScans) (d *Driver, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, fmt.Errorf("%s: internal error: %v", path, r)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var head [0x40]byte
	n, _ := io.ReadFull(f, head[:])
	if n < 2 || head[0] != 'M' || head[1] != 'Z' {
		return nil, nil
	}
	if n == len(head) && otherExecutable(f) {
		return nil, nil
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxSize {
		return nil, fmt.Errorf("%s: %d bytes, larger than the %d-byte limit: not scanned", path, st.Size(), maxSize)
	}
	if int64(cap(*buf)) < st.Size() {
		*buf = make([]byte, st.Size())
	}
	b := (*buf)[:st.Size()]
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return scanIndexed(path, b, want, cache, shared)
}

// otherExecutable reports whether an MZ file is a valid executable of
// another kind (16-bit NE, VxD LE/LX): not a PE image, and not a problem.
func otherExecutable(f *os.File) bool {
	dos, err := peimage.ReadDOSHeader(f, int64(binary.Size(peimage.DOSHeader{})))
	if err != nil {
		return false
	}
	var sig [2]byte
	if _, err := f.ReadAt(sig[:], int64(dos.Lfanew)); err != nil {
		return false
	}
	switch string(sig[:]) {
	case "NE", "LE", "LX":
		return true
	}
	return false
}

// Add puts a driver scanned some other way (ScanFile, ScanLoaded) into the
// catalog.
func (c *Catalog) Add(d *Driver) { c.Drivers = append(c.Drivers, d) }

// Find returns every driver holding evidence for tag, strongest evidence
// first: by kind, then by count. Nothing found is an empty slice.
func (c *Catalog) Find(tag pooltag.Tag) []Candidate {
	var out []Candidate
	for _, d := range c.Drivers {
		if e, ok := d.ev.lookup(tag); ok {
			out = append(out, Candidate{Driver: d, Tag: tag.Unprotected(), Evidence: e})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Evidence.stronger(b.Evidence) != b.Evidence.stronger(a.Evidence) {
			return a.Evidence.stronger(b.Evidence)
		}
		if (a.Driver.Loaded != nil) != (b.Driver.Loaded != nil) {
			return a.Driver.Loaded != nil
		}
		return a.Driver.Path < b.Driver.Path
	})
	return out
}

// Driver returns the catalogued driver at path (or, failing that, the one
// file of that base name), or nil.
func (c *Catalog) Driver(path string) *Driver {
	clean := filepath.Clean(path)
	var byName []*Driver
	for _, d := range c.Drivers {
		if filepath.Clean(d.Path) == clean {
			return d
		}
		if strings.EqualFold(d.Name, filepath.Base(path)) {
			byName = append(byName, d)
		}
	}
	if len(byName) == 1 {
		return byName[0]
	}
	return nil
}

// Tags lists the tags the driver at driverPath uses (see Driver.Tags); nil
// when the catalog does not hold that driver.
func (c *Catalog) Tags(driverPath string) []TagUse {
	d := c.Driver(driverPath)
	if d == nil {
		return nil
	}
	return d.Tags()
}

func sortTagUses(u []TagUse) {
	sort.Slice(u, func(i, j int) bool {
		if u[i].Evidence.stronger(u[j].Evidence) != u[j].Evidence.stronger(u[i].Evidence) {
			return u[i].Evidence.stronger(u[j].Evidence)
		}
		return u[i].Tag.Less(u[j].Tag)
	})
}
