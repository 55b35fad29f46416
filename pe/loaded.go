package pe

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
)

// Loaded ties a driver to a module loaded in a crash dump.
type Loaded struct {
	Module            string `json:"module"` // name in the dump's module list
	Base              uint64 `json:"base"`
	SameTimeDateStamp bool   `json:"same_time_date_stamp"`
	SameSizeOfImage   bool   `json:"same_size_of_image"`
	Note              string `json:"note"` // whether file and module are the same build, and how they differ
}

// ImageStats says how much of a loaded image the dump held.
type ImageStats struct {
	Pages    int `json:"pages"`     // pages in SizeOfImage
	Read     int `json:"read"`      // pages read from the dump
	PagedOut int `json:"paged_out"` // not mapped: paged out, or a discarded INIT section
	Absent   int `json:"absent"`    // mapped, but the page is not in the dump
}

// ScanLoaded reads module m's image from the dump page by page and scans
// it in memory layout. Pages the dump does not hold are left zero and
// counted; evidence in them is missing, which the driver's warnings say.
// Images read from memory have no SHA-256 and no signature. ScanLoaded
// names IAT slots from the image's import table alone, reading no other
// module: when the table is gone with the discarded INIT section, as it
// usually is, only immediate and byte evidence remain. ScanLoadedWith
// recovers the call sites.
func ScanLoaded(f *dumpfile.File, m dumpfile.Module) (*Driver, ImageStats, error) {
	return ScanLoadedWith(f, m, nil)
}

// ScanLoadedWith is ScanLoaded that also names the image's IAT slots by
// the addresses the loader wrote there, through the pool routines the
// dump's modules export. Build exports once per dump with
// NewKernelExports; nil is ScanLoaded.
func ScanLoadedWith(f *dumpfile.File, m dumpfile.Module, exports *KernelExports) (*Driver, ImageStats, error) {
	var st ImageStats
	size := m.SizeOfImage
	if size == 0 {
		size = m.Size
	}
	if size == 0 || size > maxImageSize {
		return nil, st, fmt.Errorf("module %s at %#x: implausible image size %#x", m.Name, m.Base, size)
	}
	buf := make([]byte, size)
	for off := uint32(0); off < size; off += dumpfile.PageSize {
		end := min(off+dumpfile.PageSize, size)
		st.Pages++
		_, err := f.ReadVirtual(m.Base+uint64(off), buf[off:end])
		switch {
		case err == nil:
			st.Read++
		case errors.Is(err, dumpfile.ErrNotMapped):
			st.PagedOut++
		case errors.Is(err, dumpfile.ErrNoPhysicalMemory):
			return nil, st, fmt.Errorf("module %s: the dump holds no memory pages: %w", m.Name, err)
		default:
			st.Absent++
		}
		if off == 0 && err != nil {
			return nil, st, fmt.Errorf("module %s at %#x: PE header not in the dump: %w", m.Name, m.Base, err)
		}
	}
	label := "dump module " + m.Name
	d, err := scan(label, buf, MappedLayout, nil, exports)
	if err != nil {
		return nil, st, err
	}
	d.Path = m.Path
	if d.Path == "" {
		d.Path = m.Name
	}
	d.Name = m.Name
	if missing := st.PagedOut + st.Absent; missing > 0 {
		d.Warnings = append(d.Warnings, fmt.Sprintf("%d of %d image pages not in the dump (%d paged out, %d absent): evidence there is missing",
			missing, st.Pages, st.PagedOut, st.Absent))
	}
	d.Loaded = &Loaded{Module: m.Name, Base: m.Base, SameTimeDateStamp: true, SameSizeOfImage: true, Note: "image read from the dump"}
	return d, st, nil
}

// matchLoaded compares a driver file with a loaded module of the same name.
func matchLoaded(d *Driver, m dumpfile.Module) *Loaded {
	l := &Loaded{Module: m.Name, Base: m.Base}
	if m.HeaderErr != nil || m.TimeDateStamp == 0 && m.SizeOfImage == 0 {
		l.Note = "loaded module's PE header is not in the dump: build not compared"
		return l
	}
	l.SameTimeDateStamp = d.timestamp == m.TimeDateStamp
	l.SameSizeOfImage = d.SizeOfImage == m.SizeOfImage
	var diffs []string
	if !l.SameTimeDateStamp {
		diffs = append(diffs, fmt.Sprintf("TimeDateStamp file %#x (%s), loaded %#x (%s)", d.timestamp,
			d.TimeDateStamp.Format("2006-01-02"), m.TimeDateStamp, time.Unix(int64(m.TimeDateStamp), 0).UTC().Format("2006-01-02")))
	}
	if !l.SameSizeOfImage {
		diffs = append(diffs, fmt.Sprintf("SizeOfImage file %#x, loaded %#x", d.SizeOfImage, m.SizeOfImage))
	}
	if len(diffs) == 0 {
		l.Note = "same build as the loaded module (TimeDateStamp and SizeOfImage equal)"
	} else {
		l.Note = "different build from the loaded module: " + strings.Join(diffs, "; ")
	}
	return l
}

// MarkLoaded ties each catalogued driver file to the dump module of the
// same base name (case-insensitive), recording whether TimeDateStamp and
// SizeOfImage agree. It returns how many files matched. Images read from
// the dump keep their own marking.
func (c *Catalog) MarkLoaded(mods []dumpfile.Module) int {
	byName := map[string]dumpfile.Module{}
	for _, m := range mods {
		byName[strings.ToLower(m.Name)] = m
	}
	n := 0
	for _, d := range c.Drivers {
		if d.Layout == MappedLayout {
			continue
		}
		if m, ok := byName[strings.ToLower(d.Name)]; ok {
			d.Loaded = matchLoaded(d, m)
			n++
		}
	}
	return n
}
