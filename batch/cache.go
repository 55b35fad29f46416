package batch

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/poolblame/poolblame/internal/outfile"
)

// IndexName is the file in the output folder that remembers what was
// analysed already.
const IndexName = "index.json"

// indexSchema names the form of index.json; an index of another form is
// ignored (everything is analysed again).
const indexSchema = "poolblame.batch.index/1"

// index is index.json: per dump key, the record the summary needs, the
// tags the trends need, and the report files.
type index struct {
	Schema string `json:"schema"`
	// Settings are the options that shape a report's content; entries
	// made under other settings are not reused.
	Settings string                 `json:"settings"`
	Entries  map[string]*indexEntry `json:"entries"`
}

type indexEntry struct {
	Key    string      `json:"key"`
	Record *DumpRecord `json:"record"`
	// Tags are the largest tags of each pool (keptPerPool per pool, or the
	// report's own number when larger), for trends; a tag not listed was
	// smaller than the smallest listed.
	Tags keptTags `json:"tags,omitempty"`
}

// keptPerPool is how many tags per pool a dump keeps for trends: enough for
// the leaders and the tags about to become leaders, far fewer than the
// thousands a server has.
const keptPerPool = 30

// loadIndex reads dir/index.json. A missing file is an empty index; an
// unreadable one, or one made with other settings, is too, with a note
// saying so.
func loadIndex(dir, settings string) (*index, string) {
	ix := &index{Schema: indexSchema, Settings: settings, Entries: map[string]*indexEntry{}}
	p := filepath.Join(dir, IndexName)
	data, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return ix, ""
	}
	if err != nil {
		return ix, fmt.Sprintf("%s: %v; every dump is analysed again", p, err)
	}
	var got index
	if err := json.Unmarshal(data, &got); err != nil {
		return ix, fmt.Sprintf("%s: not a readable index (%v); every dump is analysed again", p, err)
	}
	if got.Schema != indexSchema {
		return ix, fmt.Sprintf("%s: index form %q, not %q; every dump is analysed again", p, got.Schema, indexSchema)
	}
	if got.Settings != settings {
		return ix, fmt.Sprintf("%s was made with other settings (%s; now %s): every dump is analysed again", p, got.Settings, settings)
	}
	for k, e := range got.Entries {
		if e != nil && e.Record != nil && e.Key == k {
			ix.Entries[k] = e
		}
	}
	return ix, ""
}

// lookup returns the entry for key when it can stand for a new analysis:
// a failure in the dump's own bytes, or a result whose reports exist in
// every requested format.
func (ix *index) lookup(key, dir string, formats []string) (*indexEntry, bool) {
	e, ok := ix.Entries[key]
	if !ok || key == "" {
		return nil, false
	}
	if e.Record.Status == StatusError {
		return e, true
	}
	for _, f := range formats {
		name, ok := e.Record.Reports[f]
		if !ok {
			return nil, false
		}
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return nil, false
		}
	}
	return e, true
}

// settingsOf describes the options that shape a report's content.
func settingsOf(o Options) string {
	dirs := make([]string, len(o.DriverDirs))
	for i, d := range o.DriverDirs {
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		dirs[i] = d
	}
	pooltag := ""
	if o.Pooltag != nil {
		pooltag = o.Pooltag.Path
	}
	top := o.Top
	if top <= 0 {
		top = 10
	}
	return fmt.Sprintf("drivers=%q pooltag=%q top=%d dump-images=%v", dirs, pooltag, top, !o.NoDumpImages)
}

// save writes the index atomically (a crash leaves the old one), one
// entry at a time: the file is never held whole in memory, so saving
// costs what one entry does, whatever the size of the run.
func (ix *index) save(dir string, g *outfile.Guard) error {
	return g.WriteWith(filepath.Join(dir, IndexName), ix.encode)
}

// encode writes the index as JSON, one entry a line, keys in order.
func (ix *index) encode(w io.Writer) error {
	head, err := json.Marshal(struct {
		Schema   string `json:"schema"`
		Settings string `json:"settings"`
	}{ix.Schema, ix.Settings})
	if err != nil {
		return err
	}
	// {"schema":..,"settings":..,"entries":{
	if _, err := fmt.Fprintf(w, "%s,\"entries\":{", head[:len(head)-1]); err != nil {
		return err
	}
	for i, k := range slices.Sorted(maps.Keys(ix.Entries)) {
		key, err := json.Marshal(k)
		if err != nil {
			return err
		}
		e, err := json.Marshal(ix.Entries[k])
		if err != nil {
			return err
		}
		sep := ",\n"
		if i == 0 {
			sep = "\n"
		}
		if _, err := fmt.Fprintf(w, "%s%s:%s", sep, key, e); err != nil {
			return err
		}
	}
	_, err = io.WriteString(w, "\n}}\n")
	return err
}
