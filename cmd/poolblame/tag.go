package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pooltag"
	"github.com/poolblame/poolblame/units"
)

// detailed is how many candidates per tag get their full identity in the
// text output; the rest get one line each (JSON always has everything).
const detailed = 5

// maxWarningLines bounds the per-file warnings printed to stderr.
const maxWarningLines = 20

const tagArgs = "TAG... [--drivers DIR]... [--dump DUMP] [--json] [--list-tags FILE [--weak]] [--pooltag FILE]"

// runTag names the driver that owns each pool tag: it indexes the driver
// folders (and the images loaded in a dump), ranks the drivers holding
// evidence for each tag, and shows their identity. Exit status 0 when every
// tag was found, 1 when some were not, 2 on error.
func runTag(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("tag", tagArgs, stderr)
	drivers := fs.StringArray("drivers", nil, "folder of driver files to search, recursively (repeatable)")
	dumpPaths := fs.StringArray("dump", nil, "crash dump: mark the drivers it loaded and search their images in it (repeatable)")
	asJSON := fs.Bool("json", false, "write JSON")
	listTags := fs.String("list-tags", "", "list the pool tags a driver file passes to pool routines, instead of looking tags up")
	weak := fs.Bool("weak", false, "with --list-tags: also list tag-like immediates never seen passed to a pool routine, marked weak")
	pooltagPath := fs.String("pooltag", "", "pooltag.txt with tag descriptions (default: the Debugging Tools' copy, if installed)")
	noCache := fs.Bool("no-cache", false, "scan every driver file again instead of reusing earlier scans kept in the user's cache folder")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	db, dbErr := loadPooltag(*pooltagPath)
	if dbErr != nil {
		return fail(stderr, dbErr)
	}
	if *listTags != "" {
		if fs.NArg() > 0 {
			fmt.Fprintln(stderr, "poolblame: tag: give either TAG arguments or --list-tags FILE, not both")
			return exitError
		}
		return listDriverTags(*listTags, db, *weak, *asJSON, stdout, stderr)
	}
	if *weak {
		fmt.Fprintln(stderr, "poolblame: tag: --weak goes with --list-tags FILE")
		return exitError
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return exitError
	}
	var tags []pooltag.Tag
	for _, a := range fs.Args() {
		t, err := parseTagArg(a)
		if err != nil {
			return fail(stderr, err)
		}
		tags = append(tags, t)
	}
	if len(*drivers) == 0 && len(*dumpPaths) == 0 {
		fmt.Fprintln(stderr, `poolblame: tag: nothing to search: give --drivers DIR (a folder of driver files, such as a copy of C:\Windows\System32\drivers) or --dump DUMP`)
		return exitError
	}

	cat := &pe.Catalog{}
	if len(*drivers) > 0 {
		var err error
		cat, err = pe.Index(context.Background(), *drivers, pe.IndexOptions{Tags: tags, Cache: openDriverCache(*noCache, stderr)})
		if err != nil {
			return fail(stderr, err)
		}
	}
	warnings := make([]string, 0, len(cat.Warnings))
	for _, w := range cat.Warnings {
		warnings = append(warnings, w.String())
	}
	var notes []string
	ev := &analysis.Evidence{Folder: cat}
	for _, p := range *dumpPaths {
		n, err := addDump(ev, p, &warnings)
		if err != nil {
			return fail(stderr, err)
		}
		notes = append(notes, n...)
	}
	if db == nil {
		notes = append(notes, "no pooltag.txt found: descriptions not shown (use --pooltag FILE)")
	}
	printWarnings(stderr, warnings)

	res := tagResults{Files: cat.Files, Drivers: len(cat.Drivers) + len(ev.Dump), Warnings: warnings, Notes: notes}
	if db != nil {
		res.Pooltag = db.Path
	}
	var missing int
	res.Tags, missing = lookupTags(ev, db, tags)
	if *asJSON {
		if err := writeJSON(stdout, res); err != nil {
			return fail(stderr, err)
		}
	} else {
		writeTagText(stdout, res)
	}
	if missing > 0 {
		return exitFound
	}
	return exitOK
}

// addDump marks the catalogued files that the dump loaded and adds the
// loaded images themselves, read from the dump, as candidates.
func addDump(ev *analysis.Evidence, path string, warnings *[]string) ([]string, error) {
	f, closeDump, err := openDump(path)
	if err != nil {
		return nil, err
	}
	defer closeDump()
	mods, err := f.Modules()
	if err != nil && len(mods) == 0 {
		return nil, err
	}
	var notes []string
	if err != nil {
		notes = append(notes, fmt.Sprintf("module list of %s read in part (%d modules): %v", path, len(mods), err))
	}
	matched := ev.Folder.MarkLoaded(mods)
	imgs := analysis.ScanDumpImages(context.Background(), f, mods)
	for _, n := range imgs.Notes {
		notes = append(notes, path+": "+n)
	}
	for _, err := range imgs.Failed {
		*warnings = append(*warnings, err.Error())
	}
	ev.Dump = append(ev.Dump, imgs.Drivers...)
	ev.Modules = append(ev.Modules, mods...)
	notes = append(notes, fmt.Sprintf("%s: %d modules loaded, %d driver files matched by name, %d images read from the dump, %d unreadable",
		path, len(mods), matched, len(imgs.Drivers), len(imgs.Failed)))
	return notes, nil
}

// parseTagArg reads a tag as its one to four characters ("Mm" is "Mm  ")
// or as a hexadecimal value ("0x4D454D50" is PMEM).
func parseTagArg(s string) (pooltag.Tag, error) {
	if len(s) > 4 && (strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X")) {
		v, err := strconv.ParseUint(s[2:], 16, 32)
		if err != nil {
			return 0, fmt.Errorf("tag %q: not a 32-bit hexadecimal value", s)
		}
		return pooltag.Tag(v), nil
	}
	return pooltag.ParseTag(s)
}

// tagText shows a tag in display order, without the protected bit, which
// Windows 7 and older set on some tags and which names the same tag.
func tagText(t pooltag.Tag) string { return t.Unprotected().String() }

// lookupTags ranks the drivers holding evidence for each tag, and how
// many tags no driver holds.
func lookupTags(ev *analysis.Evidence, db *pooltag.DB, tags []pooltag.Tag) (rs []tagResult, missing int) {
	for _, t := range tags {
		r := tagResult{Tag: tagText(t), Value: fmt.Sprintf("%#08x", uint32(t))}
		// pooltag.txt lines are listed apart, as what they are.
		for i, c := range ev.Candidates(t, nil) {
			r.Candidates = append(r.Candidates, candidateJSON{Rank: i + 1, Evidence: c.Kind(), Count: c.Count(),
				Detail: c.Evidence, Driver: c.Driver, sig: c.Signature})
		}
		r.Found = len(r.Candidates) > 0
		if !r.Found {
			missing++
		}
		if db != nil {
			for _, e := range db.Lookup(t) {
				r.Pooltag = append(r.Pooltag, pooltagJSON{Pattern: e.Pattern, Binary: e.Binary, Description: e.Description, Line: e.Line})
			}
		}
		rs = append(rs, r)
	}
	return rs, missing
}

type tagResults struct {
	Tags     []tagResult `json:"tags"`
	Files    int         `json:"files_examined"`
	Drivers  int         `json:"images_indexed"`
	Pooltag  string      `json:"pooltag_file,omitempty"`
	Warnings []string    `json:"warnings"`
	Notes    []string    `json:"notes,omitempty"`
}

type tagResult struct {
	Tag        string          `json:"tag"`
	Value      string          `json:"value"`
	Found      bool            `json:"found"`
	Candidates []candidateJSON `json:"candidates"`
	Pooltag    []pooltagJSON   `json:"pooltag,omitempty"`
}

type candidateJSON struct {
	Rank     int             `json:"rank"`
	Evidence pe.EvidenceKind `json:"evidence"`
	Count    int             `json:"count"`
	Detail   pe.Evidence     `json:"detail"`
	Driver   *pe.Driver      `json:"driver"`

	sig analysis.Signature
}

type pooltagJSON struct {
	Pattern     string `json:"pattern"`
	Binary      string `json:"binary"`
	Description string `json:"description"`
	Line        int    `json:"line"`
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printWarnings(w io.Writer, warnings []string) {
	for i, s := range warnings {
		if i == maxWarningLines {
			fmt.Fprintf(w, "poolblame: warning: ... and %d more files not scanned\n", len(warnings)-i)
			break
		}
		fmt.Fprintf(w, "poolblame: warning: %s\n", s)
	}
}

func writeTagText(w io.Writer, res tagResults) {
	fmt.Fprintf(w, "Searched %d PE image%s (%d files).\n", res.Drivers, units.Plural(res.Drivers), res.Files)
	for _, n := range res.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	for _, r := range res.Tags {
		fmt.Fprintln(w)
		if !r.Found {
			fmt.Fprintf(w, "%s (%s): not found in any driver\n", r.Tag, r.Value)
		} else {
			fmt.Fprintf(w, "%s (%s): %d driver%s\n", r.Tag, r.Value, len(r.Candidates), units.Plural(len(r.Candidates)))
		}
		for _, c := range r.Candidates {
			if c.Rank <= detailed {
				writeCandidate(w, c)
			} else {
				fmt.Fprintf(w, "  %2d  %-24s %s\n", c.Rank, c.Driver.Name, evidenceText(c.Detail))
			}
		}
		switch {
		case res.Pooltag == "":
		case len(r.Pooltag) == 0:
			fmt.Fprintf(w, "  pooltag.txt: no entry\n")
		default:
			for _, e := range r.Pooltag {
				fmt.Fprintf(w, "  pooltag.txt line %d: %s - %s - %s\n", e.Line, e.Pattern, e.Binary, e.Description)
			}
		}
	}
}

// evidenceText summarises evidence, strongest first.
func evidenceText(e pe.Evidence) string {
	var parts []string
	if e.CallSites > 0 {
		s := fmt.Sprintf("call-site x%d (%s", e.CallSites, strings.Join(e.Routines, ", "))
		if e.Wrapped > 0 {
			s += fmt.Sprintf("; %d through a local wrapper", e.Wrapped)
		}
		parts = append(parts, s+")")
	}
	if e.Immediates > 0 {
		parts = append(parts, fmt.Sprintf("immediate x%d", e.Immediates))
	}
	if e.Bytes > 0 {
		parts = append(parts, fmt.Sprintf("bytes x%d", e.Bytes))
	}
	s := strings.Join(parts, ", ")
	if e.Kind() == pe.Bytes {
		s += " (bytes only: may be data, not an allocation)"
	}
	if e.Protected {
		s += " [protected bit]"
	}
	return s
}

func writeCandidate(w io.Writer, c candidateJSON) {
	d := c.Driver
	fmt.Fprintf(w, "  %2d  %-24s %s\n", c.Rank, d.Name, evidenceText(c.Detail))
	fmt.Fprintf(w, "      %s\n", d.Path)
	linked := "linked " + d.TimeDateStamp.Format("2006-01-02")
	if d.Reproducible {
		linked = fmt.Sprintf("TimeDateStamp %#08x (a build hash: reproducible build)", d.TimeDateStamp.Unix())
	}
	id := fmt.Sprintf("%v, %s, SizeOfImage %#x", d.Machine, linked, d.SizeOfImage)
	if d.SHA256 != "" {
		id += fmt.Sprintf(", %s bytes, sha256 %s", units.UCount(uint64(d.Size)), d.SHA256)
	}
	fmt.Fprintf(w, "      %s\n", id)
	fmt.Fprintf(w, "      version: %s\n", versionText(d.Version))
	fmt.Fprintf(w, "      signature: %s\n", c.sig)
	if d.PDB != nil {
		fmt.Fprintf(w, "      PDB: %s (GUID %s, age %d)\n", d.PDB.Path, d.PDB.GUID, d.PDB.Age)
	}
	if d.Microsoft {
		fmt.Fprintf(w, "      Microsoft component\n")
	}
	if d.Loaded != nil {
		fmt.Fprintf(w, "      loaded at %#x as %s: %s\n", d.Loaded.Base, d.Loaded.Module, d.Loaded.Note)
	}
	for _, warn := range d.Warnings {
		fmt.Fprintf(w, "      warning: %s\n", warn)
	}
}

func versionText(v pe.VersionInfo) string {
	if v.Note != "" && v.CompanyName == "" && v.FileVersion == "" {
		return v.Note
	}
	var parts []string
	if v.FileDescription != "" {
		parts = append(parts, v.FileDescription)
	}
	if v.FileVersion != "" {
		parts = append(parts, v.FileVersion)
	}
	s := strings.Join(parts, " ")
	if v.CompanyName != "" {
		s += ", " + v.CompanyName
	}
	if v.ProductName != "" {
		s += fmt.Sprintf("; product %s %s", v.ProductName, v.ProductVersion)
	}
	if v.OriginalFilename != "" {
		s += "; original name " + v.OriginalFilename
	}
	if v.Fixed != nil && v.Fixed.FileVersion != v.FileVersion {
		s += "; binary version " + v.Fixed.FileVersion
	}
	if v.Note != "" {
		s += " (" + v.Note + ")"
	}
	return strings.TrimPrefix(s, ", ")
}

// listDriverTags prints the pool tags one driver file passes to pool
// routines and, with weak, the tag-like immediates it holds besides: those
// include section names and fragments of strings, so they are marked.
func listDriverTags(path string, db *pooltag.DB, weak, asJSON bool, stdout, stderr io.Writer) int {
	d, err := pe.ScanFile(path)
	if err != nil {
		return fail(stderr, err)
	}
	uses, weakUses := d.Tags(), d.WeakTags()
	type useJSON struct {
		Tag      string          `json:"tag"`
		Value    string          `json:"value"`
		Evidence pe.EvidenceKind `json:"evidence"`
		Weak     bool            `json:"weak,omitempty"` // never seen passed to a pool routine
		Detail   pe.Evidence     `json:"detail"`
		Pooltag  []pooltagJSON   `json:"pooltag,omitempty"`
	}
	out := struct {
		Driver      *pe.Driver `json:"driver"`
		Tags        []useJSON  `json:"tags"`
		WeakOmitted int        `json:"weak_omitted,omitempty"` // weak values not listed (without --weak)
	}{Driver: d, Tags: []useJSON{}}
	add := func(u pe.TagUse, weak bool) {
		j := useJSON{Tag: u.TagString(), Value: fmt.Sprintf("%#08x", uint32(u.Tag)), Evidence: u.Kind(), Weak: weak, Detail: u.Evidence}
		if db != nil {
			for _, e := range db.Lookup(pooltag.Tag(u.Tag)) {
				j.Pooltag = append(j.Pooltag, pooltagJSON{Pattern: e.Pattern, Binary: e.Binary, Description: e.Description, Line: e.Line})
			}
		}
		out.Tags = append(out.Tags, j)
	}
	for _, u := range uses {
		add(u, false)
	}
	if weak {
		for _, u := range weakUses {
			add(u, true)
		}
	} else {
		out.WeakOmitted = len(weakUses)
	}
	if asJSON {
		if err := writeJSON(stdout, out); err != nil {
			return fail(stderr, err)
		}
	} else {
		fmt.Fprintf(stdout, "%s: %v, %d tag%s passed to pool routines by its code\n", d.Path, d.Machine, len(uses), units.Plural(len(uses)))
		for _, j := range out.Tags {
			mark := ""
			if j.Weak {
				mark = "weak: "
			}
			line := fmt.Sprintf("  %-4s  %s%s", j.Tag, mark, evidenceText(j.Detail))
			if len(j.Pooltag) > 0 {
				line += "  -- " + j.Pooltag[0].Description
			}
			fmt.Fprintln(stdout, line)
		}
		switch {
		case weak && len(weakUses) > 0:
			fmt.Fprintf(stdout, "  (weak: %d immediate%s never seen passed to a pool routine; section names and strings decode as such)\n",
				len(weakUses), units.Plural(len(weakUses)))
		case len(weakUses) > 0:
			fmt.Fprintf(stdout, "  %d more tag-like immediate%s never seen passed to a pool routine: weak evidence, listed with --weak\n",
				len(weakUses), units.Plural(len(weakUses)))
		}
		for _, warn := range d.Warnings {
			fmt.Fprintf(stdout, "  warning: %s\n", warn)
		}
	}
	if len(uses) == 0 {
		return exitFound
	}
	return exitOK
}
