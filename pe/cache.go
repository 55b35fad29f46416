package pe

import (
	"bytes"
	"crypto/sha256"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/poolblame/poolblame/pooltag"
)

// cacheFormat changes whenever what a scan finds in the same bytes
// changes (the walker, the routine table, the record layout): records of
// another format are never read.
const cacheFormat = 3 // 3: the PDB record joined the identity

// Cache keeps the scan of each driver file across runs, keyed by the
// file's SHA-256 and the tool's version, in files under one folder. A
// record holds the file's identity and every tag-like value its code
// uses, so one scan answers any later search; byte evidence is counted
// again from the file, which is read anyway to hash it. Records are
// written to a temporary file and renamed into place, so concurrent runs
// never read a partial one; an unreadable record is a miss.
type Cache struct {
	dir string
}

// DefaultCacheDir is the folder the command line keeps its cache in: the
// user's cache folder (os.UserCacheDir), under "poolblame".
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "poolblame"), nil
}

// OpenCache opens (creating it if needed) the cache for one tool version
// under root. version names the build that writes the records: records of
// another version are not seen.
func OpenCache(root, version string) (*Cache, error) {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d\x00%s", cacheFormat, version)))
	dir := filepath.Join(root, "drivers-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("driver cache: %w", err)
	}
	return &Cache{dir: dir}, nil
}

// cacheRecord is what one file's scan leaves in the cache.
type cacheRecord struct {
	Driver    Driver // identity; Path, Name and evidence are per use
	Timestamp uint32
	Code      []cachedUse
}

// cachedUse mirrors codeUse with exported fields for gob.
type cachedUse struct {
	Tag                            pooltag.Tag
	CallSites, Wrapped, Immediates int32
	Routines                       uint32
	Protected                      bool
}

func (c *Cache) path(sum *[32]byte) string {
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dir, h[:2], h)
}

// load returns the record of the file with SHA-256 sum, if one was kept.
func (c *Cache) load(sum *[32]byte) (*cacheRecord, bool) {
	b, err := os.ReadFile(c.path(sum))
	if err != nil {
		return nil, false
	}
	var rec cacheRecord
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&rec); err != nil {
		return nil, false
	}
	return &rec, true
}

// store keeps a record. Failing to is not an error of the scan: the next
// run scans again.
func (c *Cache) store(sum *[32]byte, d *Driver, code []codeUse) {
	rec := cacheRecord{Driver: *d, Timestamp: d.timestamp, Code: make([]cachedUse, len(code))}
	rec.Driver.Path, rec.Driver.Name, rec.Driver.Loaded = "", "", nil
	for i, u := range code {
		rec.Code[i] = cachedUse{u.tag, u.callSites, u.wrapped, u.immediates, u.routines, u.protected}
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(&rec); err != nil {
		return
	}
	p := c.path(sum)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b.Bytes())
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), p) != nil {
		os.Remove(tmp.Name())
	}
}

// driver rebuilds the driver of a record for the file at path, whose bytes
// are data, keeping the evidence for want (every tag-like value when nil).
func (rec *cacheRecord) driver(path string, data []byte, want map[pooltag.Tag]bool) *Driver {
	d := rec.Driver
	d.Path, d.Name, d.Size = path, filepath.Base(path), int64(len(data))
	d.timestamp = rec.Timestamp
	d.Warnings = append([]string(nil), rec.Driver.Warnings...)
	ev := newEvidenceBuilder(want)
	for _, u := range rec.Code {
		if want == nil || want[u.Tag] {
			ev.code[u.Tag] = &codeUse{u.Tag, u.CallSites, u.Wrapped, u.Immediates, u.Routines, u.Protected}
		}
	}
	ev.scanBytes(data)
	d.ev = ev.finish()
	return &d
}

// ClearCache removes every record of every version under root.
func ClearCache(root string) error {
	err := os.RemoveAll(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// sharedScans lets identical files of one Index share one scan: the first
// worker to hash a content scans it, the others wait and copy its result.
type sharedScans struct {
	mu sync.Mutex
	m  map[[32]byte]*sharedScan
}

type sharedScan struct {
	done chan struct{}
	d    *Driver
	err  error
}

// claim returns the scan of content sum and whether the caller must do it
// (and then call finish).
func (s *sharedScans) claim(sum [32]byte) (*sharedScan, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.m[sum]; ok {
		return f, false
	}
	f := &sharedScan{done: make(chan struct{})}
	s.m[sum] = f
	return f, true
}

// copyFor is the shared result for another file of the same content.
func (f *sharedScan) copyFor(path string) *Driver {
	d := *f.d
	d.Path, d.Name = path, filepath.Base(path)
	d.Warnings = append([]string(nil), f.d.Warnings...)
	return &d
}

// scanIndexed scans one file's bytes for Index: through the scan of an
// identical file of the same run, else through the cache.
func scanIndexed(path string, data []byte, want map[pooltag.Tag]bool, cache *Cache, shared *sharedScans) (*Driver, error) {
	sum := sha256.Sum256(data)
	f, first := shared.claim(sum)
	if !first {
		<-f.done
		if f.err == nil {
			return f.copyFor(path), nil
		}
		// The first copy's error names its path: scan this one for its own.
		return scanImage(path, data, FileLayout, want, nil, &sum, nil)
	}
	defer func() {
		// A panic in the scan (recovered by indexFile) must not leave
		// the other copies waiting.
		if f.d == nil && f.err == nil {
			f.err = errors.New("scan failed")
		}
		close(f.done)
	}()
	f.d, f.err = scanCached(path, data, &sum, want, cache)
	return f.d, f.err
}

func scanCached(path string, data []byte, sum *[32]byte, want map[pooltag.Tag]bool, cache *Cache) (*Driver, error) {
	usable := cache != nil
	for t := range want {
		// The record keeps tag-like immediates only.
		usable = usable && t.Printable()
	}
	if !usable {
		return scanImage(path, data, FileLayout, want, nil, sum, nil)
	}
	if rec, ok := cache.load(sum); ok {
		return rec.driver(path, data, want), nil
	}
	var full []codeUse
	d, err := scanImage(path, data, FileLayout, want, nil, sum, &full)
	if err == nil && full != nil {
		cache.store(sum, d, full)
	}
	return d, err
}
