package pe

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/poolblame/poolblame/internal/peimage"
	"github.com/poolblame/poolblame/pooltag"
	peparser "github.com/saferwall/pe"
	"github.com/saferwall/pe/log"
)

// Layout says how an image's bytes are arranged.
type Layout int

const (
	// FileLayout is the image as stored on disk: sections at their
	// PointerToRawData.
	FileLayout Layout = iota
	// MappedLayout is the image as loaded in memory: sections at their
	// VirtualAddress, as read from a crash dump.
	MappedLayout
)

// Driver is one scanned image: its identity and the tags it uses.
type Driver struct {
	Path          string      `json:"path"`
	Name          string      `json:"name"`
	Size          int64       `json:"size"`
	SHA256        string      `json:"sha256,omitempty"` // of the file; empty for an image read from memory
	Machine       Machine     `json:"machine"`
	TimeDateStamp time.Time   `json:"time_date_stamp"` // PE header link time
	Reproducible  bool        `json:"reproducible"`    // TimeDateStamp is a build hash (/Brepro), not a time
	CheckSum      uint32      `json:"checksum"`
	SizeOfImage   uint32      `json:"size_of_image"`
	Version       VersionInfo `json:"version"`
	Signature     Signature   `json:"signature"`
	Microsoft     bool        `json:"microsoft"`     // a Microsoft-made image (see isMicrosoft)
	PDB           *PDB        `json:"pdb,omitempty"` // the debug directory's CodeView record, if any
	Layout        Layout      `json:"-"`
	Warnings      []string    `json:"warnings,omitempty"` // what could not be read
	Loaded        *Loaded     `json:"loaded,omitempty"`   // the matching module of a dump, if any

	timestamp uint32
	ev        tagEvidence
}

// Evidence returns what the driver holds for tag (protected bit masked).
func (d *Driver) Evidence(tag pooltag.Tag) Evidence {
	e, _ := d.ev.lookup(tag)
	return e
}

// Tags lists the tags the driver's code passes to pool routines (call-site
// evidence), printable four-character ones only, strongest evidence first.
func (d *Driver) Tags() []TagUse { return d.tagUses(true) }

// WeakTags lists the printable four-character instruction immediates that
// were never seen passed to a pool routine, strongest evidence first. They
// are weak evidence: section names ("INIT", "PAGE"), fragments of strings
// and other constants decode as such, beside real tags whose call the
// scanner could not follow.
func (d *Driver) WeakTags() []TagUse { return d.tagUses(false) }

func (d *Driver) tagUses(calls bool) []TagUse {
	var out []TagUse
	for _, c := range d.ev.code {
		if !c.tag.Printable() || (c.callSites > 0) != calls {
			continue
		}
		e, _ := d.ev.lookup(c.tag)
		out = append(out, TagUse{Tag: c.tag, Evidence: e})
	}
	sortTagUses(out)
	return out
}

// ScanFile reads a driver file, read-only, and scans it.
func ScanFile(path string) (*Driver, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return scan(path, data, FileLayout, nil, nil)
}

// ScanBytes scans an image held in memory. name labels the result and any
// error. A MappedLayout image (sections at their virtual addresses) is
// rebuilt in file layout before parsing.
func ScanBytes(name string, b []byte, layout Layout) (*Driver, error) {
	return scan(name, b, layout, nil, nil)
}

// checkHeaders verifies the DOS and NT signatures before the parser is
// trusted with the bytes.
func checkHeaders(name string, b []byte) error {
	if _, err := peimage.CheckSignature(bytes.NewReader(b), int64(len(b))); err != nil {
		return imageError(name, err)
	}
	return nil
}

// parserOptions returns fresh options for one file: the parser writes
// defaults into them, so they are never shared.
func parserOptions() *peparser.Options {
	return &peparser.Options{
		Logger:                     log.NewStdLogger(io.Discard),
		DisableCertValidation:      true, // Microsoft roots are not in Linux trust stores
		DisableSignatureValidation: true, // the hash is compared below instead
		OmitExceptionDirectory:     true, // read directly by functionStarts
		OmitRelocDirectory:         true,
		OmitTLSDirectory:           true,
		OmitLoadConfigDirectory:    true,
		OmitBoundImportDirectory:   true,
		OmitIATDirectory:           true,
		OmitCLRHeaderDirectory:     true,
		OmitCLRMetadata:            true,
		OmitArchitectureDirectory:  true,
		OmitGlobalPtrDirectory:     true,
	}
}

// scan parses and scans one image. want, when not nil, limits the evidence
// kept to those (masked) tags. exports, when not nil, names the IAT slots
// of a MappedLayout image by the addresses they hold. A malformed image
// returns an error, never a panic.
func scan(name string, data []byte, layout Layout, want map[pooltag.Tag]bool, exports *KernelExports) (d *Driver, err error) {
	return scanImage(name, data, layout, want, exports, nil, nil)
}

// scanImage is scan, with two additions for the cache. sum, when not nil,
// is the file's SHA-256, already computed. When full is not nil and the
// code is decoded at all, every tag-like code value (and every call-site
// value) is gathered whatever want says, and left in *full, sorted by tag:
// the record one cached scan serves any later search with. The returned
// driver still holds only the evidence for want.
func scanImage(name string, data []byte, layout Layout, want map[pooltag.Tag]bool, exports *KernelExports, sum *[32]byte, full *[]codeUse) (d *Driver, err error) {
	stage := "parser"
	defer func() {
		if r := recover(); r != nil {
			if stage == "parser" {
				d, err = nil, fmt.Errorf("%s: malformed PE image: parser failed: %v", name, r)
			} else {
				d, err = nil, fmt.Errorf("%s: internal error in %s: %v", name, stage, r)
			}
		}
	}()
	if err := checkHeaders(name, data); err != nil {
		return nil, err
	}
	d = &Driver{Path: name, Name: filepath.Base(name), Size: int64(len(data)), Layout: layout}
	fileData := data
	var realBase uint64
	if layout == MappedLayout {
		fileData, realBase, err = fileLayout(name, data)
		if err != nil {
			return nil, err
		}
	} else {
		if sum == nil {
			s := sha256.Sum256(data)
			sum = &s
		}
		d.SHA256 = hex.EncodeToString(sum[:])
	}
	ev := newEvidenceBuilder(want)
	if want != nil {
		// Looking for a few tags: most files hold none of them. Read the
		// headers alone first, and stop there when neither the bytes nor
		// the code can hold a wanted tag.
		f, err := parseImage(d, fileData, true)
		if err != nil {
			return nil, err
		}
		readHeaderIdentity(d, f)
		stage = "code prefilter"
		ev.scanBytes(data)
		if len(ev.bytes) == 0 && !codeMayHold(newImage(f, fileData), want) {
			const note = "not read: the file holds none of the tags searched for"
			d.Version.Note, d.Signature.Note = note, note
			d.ev = ev.finish()
			return d, nil
		}
		stage = "parser"
		d.Warnings = nil
	}
	f, err := parseImage(d, fileData, false)
	if err != nil {
		return nil, err
	}
	stage = "identity reader"
	readHeaderIdentity(d, f)
	readIdentity(d, f)
	stage = "image model"
	im := newImage(f, fileData)
	if layout == FileLayout {
		d.warnTruncated(im, len(fileData))
	} else {
		im.base = realBase
		d.bindMapped(im, data, exports, len(f.Imports) > 0)
	}
	stage = "code scanner"
	if full != nil {
		all := newEvidenceBuilder(nil)
		scanCode(d, im, all)
		*full = all.finish().code
		for _, c := range *full {
			if want == nil || want[c.tag] {
				ev.code[c.tag] = &c
			}
		}
	} else {
		scanCode(d, im, ev)
	}
	if want == nil {
		ev.scanBytes(data)
	}
	d.ev = ev.finish()
	return d, nil
}

// warnTruncated names each section whose raw data lies past the end of a
// file-layout image: the file was most likely cut short.
func (d *Driver) warnTruncated(im *image, fileLen int) {
	for _, s := range im.sections {
		if s.rawSize > 0 && uint64(s.off)+uint64(s.rawSize) > uint64(fileLen) {
			d.Warnings = append(d.Warnings, fmt.Sprintf("section %s: raw data %#x-%#x lies past the end of the %d-byte file (truncated?)",
				s.name, s.off, uint64(s.off)+uint64(s.rawSize), fileLen))
		}
	}
}

// bindMapped names the IAT slots of an image read from memory through the
// dump's export tables. Without an import table (INIT discarded) and
// without a slot named, no call site can be found: d says so.
func (d *Driver) bindMapped(im *image, mem []byte, exports *KernelExports, hasImports bool) {
	named := 0
	if exports != nil {
		named = im.bindIAT(mem, exports)
	}
	if hasImports {
		return
	}
	switch {
	case exports == nil:
		d.Warnings = append(d.Warnings, "no import table in the memory image (discarded INIT section?) and no export tables to name its IAT slots: no call-site evidence")
	case named == 0:
		d.Warnings = append(d.Warnings, "no import table in the memory image (discarded INIT section?) and no IAT slot holds a pool routine exported by the dump's modules: no call-site evidence")
	}
}

// parseImage runs the PE parser on a file-layout image: the headers and
// section table only, or the data directories too. A file whose NT headers
// or section table cannot be used is an error; problems further in become
// warnings on d.
func parseImage(d *Driver, data []byte, headersOnly bool) (*peparser.File, error) {
	opts := parserOptions()
	opts.Fast = headersOnly
	f, err := peparser.NewBytes(data, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", d.Path, err)
	}
	perr := f.Parse()
	ntOff := int64(f.DOSHeader.AddressOfNewEXEHeader)
	if !f.HasNTHdr {
		msg := "not parsed"
		if perr != nil {
			msg = perr.Error()
		}
		return nil, &FormatError{d.Path, "NT headers", ntOff, msg}
	}
	// The parser stops at the first implausible section header (or at the
	// end of the file) and keeps the ones before it.
	nsec := int(f.NtHeader.FileHeader.NumberOfSections)
	switch {
	case len(f.Sections) == 0:
		return nil, &FormatError{d.Path, "section table", ntOff + 24 + int64(f.NtHeader.FileHeader.SizeOfOptionalHeader),
			fmt.Sprintf("none of the %d section headers is usable", nsec)}
	case len(f.Sections) < nsec:
		d.Warnings = append(d.Warnings, fmt.Sprintf("section table: only the first %d of %d section headers are usable", len(f.Sections), nsec))
	case perr != nil:
		d.Warnings = append(d.Warnings, "some data directories could not be parsed: "+perr.Error())
	}
	return f, nil
}

// scanCode decodes the code sections and resolves pool routine calls.
func scanCode(d *Driver, im *image, ev *evidenceBuilder) {
	if ev.want != nil && !codeMayHold(im, ev.want) {
		return // none of the wanted tags can be built by this code
	}
	var rec *flowRecorder
	var tagLoc func(int) int64
	switch im.machine {
	case MachineX86, MachineX64:
		arch := x86Arches[im.machine]
		rec, tagLoc = scanX86(im, arch, ev), arch.tagLoc
	case MachineARM64:
		rec, tagLoc = scanARM64(im, ev), arm64TagLoc
	case MachineARMNT:
		d.Warnings = append(d.Warnings, ThumbNote)
		scanThumb(im, ev)
		return
	default:
		d.Warnings = append(d.Warnings, fmt.Sprintf("code for %v is not decoded: byte evidence only", im.machine))
		return
	}
	rec.resolveCalls(im.slots, tagLoc, func(v uint32, r int, wrapped bool) {
		ev.callSite(v, r, wrapped)
	})
	rec.release()
}
