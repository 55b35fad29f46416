package analysis

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pooltag"
)

// DumpImages is what scanning the driver images loaded in a dump gave.
type DumpImages struct {
	Drivers      []*pe.Driver // one per readable module, Path "dump:" + module path
	Failed       []error      // one per module whose image could not be read
	MissingPages int          // image pages paged out or absent from the dump
	// Notes say what limits the scan (the kernel exports that name IAT
	// slots could not be read, or only in part).
	Notes []string
}

// ScanDumpImages scans each loaded module's image in the dump. Pages the
// dump cannot give are counted; a module whose header is missing is
// listed in Failed. Drivers in memory have usually lost their import names
// with their INIT sections, so the pool routines the loaded modules
// export, read once, name the IAT slots instead; when no module's exports
// can be read, the images' own import tables are all there is. A cancelled
// ctx stops the scan between modules.
func ScanDumpImages(ctx context.Context, f *dumpfile.File, mods []dumpfile.Module) *DumpImages {
	out := &DumpImages{}
	exports, err := pe.NewKernelExports(f, mods)
	if err != nil {
		out.Notes = append(out.Notes, fmt.Sprintf("kernel exports unreadable (%v): call sites in the dump's driver images may be missed", err))
		exports = nil
	} else {
		out.Notes = append(out.Notes, exports.Notes...)
	}
	for _, m := range mods {
		if ctx.Err() != nil {
			return out
		}
		d, st, err := pe.ScanLoadedWith(f, m, exports)
		out.MissingPages += st.PagedOut + st.Absent
		if err != nil {
			out.Failed = append(out.Failed, err)
			continue
		}
		d.Path = "dump:" + m.Path
		out.Drivers = append(out.Drivers, d)
	}
	if n := countARM32(out.Drivers); n > 0 {
		out.Notes = append(out.Notes, fmt.Sprintf("%d images in the dump: %s", n, pe.ThumbNote))
	}
	return out
}

// countARM32 counts the ARM32 images, whose calls are not decoded: the
// report says so once rather than on every candidate.
func countARM32(ds []*pe.Driver) int {
	n := 0
	for _, d := range ds {
		if d.Machine == pe.MachineARMNT {
			n++
		}
	}
	return n
}

// Evidence is every place a tag's owner can be found: indexed driver
// folders, images read from the dump, and the dump's module list that
// says which drivers were loaded.
type Evidence struct {
	Folder  *pe.Catalog // nil: no folders indexed
	Dump    []*pe.Driver
	Modules []dumpfile.Module
}

// module finds a loaded module by file name.
func (e *Evidence) module(name string) *dumpfile.Module {
	for i := range e.Modules {
		if strings.EqualFold(e.Modules[i].Name, name) {
			return &e.Modules[i]
		}
	}
	return nil
}

// Candidates ranks the drivers with evidence for tag (see
// rankCandidates). A driver found both in a folder and in the dump is
// listed once, from the folder (which has its signature), marked loaded,
// with the stronger of the two evidences. pooltag.txt entries naming a
// binary come last among equals; db may be nil.
func (e *Evidence) Candidates(tg pooltag.Tag, db *pooltag.DB) []Candidate {
	out := []Candidate{}
	seen := map[string]int{}
	if e.Folder != nil {
		for _, c := range e.Folder.Find(tg) {
			cand := fromDriver(c.Driver, c.Evidence, FromFolder)
			if m := e.module(c.Driver.Name); m != nil {
				cand.Loaded = true
				cand.LoadedNote = pe.MatchLoaded(c.Driver, *m).Note
			}
			seen[strings.ToLower(c.Driver.Name)] = len(out)
			out = append(out, cand)
		}
	}
	for _, d := range e.Dump {
		ev := d.Evidence(tg)
		if ev.Count() == 0 {
			continue
		}
		cand := fromDriver(d, ev, FromDumpImage)
		cand.Loaded = true
		if i, ok := seen[strings.ToLower(d.Name)]; ok {
			if strength(&cand) > strength(&out[i]) {
				out[i].Evidence = cand.Evidence
			}
			continue
		}
		out = append(out, cand)
	}
	if db != nil {
		for _, pt := range db.Lookup(tg) {
			if pt.Binary == "" || strings.EqualFold(pt.Binary, "<unknown>") {
				continue
			}
			out = append(out, Candidate{Name: pt.Binary, Source: FromPooltag, Owner: OwnerUnknown,
				Identity: Identity{Description: pt.Description}, Loaded: e.module(pt.Binary) != nil})
		}
	}
	rankCandidates(out)
	return out
}

// strength orders kinds of evidence: a call site over an immediate over
// bytes over a pooltag.txt line, which is someone's note, not a finding.
func strength(c *Candidate) int {
	if c.Source == FromPooltag {
		return 0
	}
	return 1 + int(c.Kind())
}

// rankCandidates sorts strongest evidence first, then drivers loaded in
// the dump, then the larger count; ties keep their order (folders first).
func rankCandidates(cs []Candidate) {
	sort.SliceStable(cs, func(i, j int) bool {
		a, b := &cs[i], &cs[j]
		if sa, sb := strength(a), strength(b); sa != sb {
			return sa > sb
		}
		if a.Loaded != b.Loaded {
			return a.Loaded
		}
		return a.Count() > b.Count()
	})
}

func fromDriver(d *pe.Driver, ev pe.Evidence, src CandidateSource) Candidate {
	c := Candidate{
		Name:     d.Name,
		Path:     d.Path,
		Source:   src,
		Evidence: ev,
		Owner:    OwnerThirdParty,
		Identity: Identity{
			Company:     d.Version.CompanyName,
			Description: d.Version.FileDescription,
			Product:     d.Version.ProductName,
			Version:     d.Version.FileVersion,
			Machine:     d.Machine.String(),
			Built:       d.TimeDateStamp,
			SHA256:      d.SHA256,
			PDB:         d.PDB,
		},
		Signature: SignatureOf(d, src),
		Driver:    d,
	}
	if d.Microsoft {
		c.Owner = OwnerMicrosoft
	}
	// An image read from the dump rarely has its version resource or
	// signature mapped: the loader's path and name say whether Windows
	// shipped it, unless the image names another company.
	if src == FromDumpImage && c.Owner != OwnerMicrosoft && d.Version.CompanyName == "" {
		switch {
		case inboxImage(d.Path, d.Name):
			c.Owner = OwnerMicrosoft
		case inDriversDir(d.Path) && d.PDB.MicrosoftStyle(d.Name):
			// Two weak hints together, neither enough alone: loaded from
			// where Windows keeps its drivers (third parties install
			// there too), and a PDB record as Microsoft writes its own (a
			// bare name after the image, which any linker can write).
			c.Owner = OwnerMicrosoft
			c.Identity.OwnerHint = "PDB record " + d.PDB.Path + " (a bare name after the image, as Microsoft's own images carry) and loaded from system32\\drivers, with no version resource in memory"
		}
	}
	if d.Version.Fixed != nil && d.Version.Fixed.FileVersion != "" {
		c.Identity.Version = d.Version.Fixed.FileVersion
	}
	return c
}

// SignatureOf is what a driver found in src says of its signature. A
// signature whose hash was never computed is not a mismatch.
func SignatureOf(d *pe.Driver, src CandidateSource) Signature {
	ps := d.Signature
	s := Signature{Signer: ps.Signer, Issuer: ps.Issuer, Digest: ps.Digest, Nested: ps.Nested}
	switch {
	case src == FromDumpImage || d.Layout == pe.MappedLayout:
		s.State = SignatureNotInMemory
	case !ps.Embedded:
		s.State = Unsigned
	case ps.HashMatches:
		s.State = SignedHashMatches
	case ps.HashChecked:
		s.State = SignedHashMismatch
	default:
		s.State, s.Note = SignedUnchecked, ps.Note
	}
	return s
}
