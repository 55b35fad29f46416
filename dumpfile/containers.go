package dumpfile

import (
	"encoding/binary"
	"fmt"
)

// BitmapHeader is the sub-header of bitmap (types 5, 6) and old summary
// (type 2) dumps.
type BitmapHeader struct {
	Off       int64  // file offset of the sub-header
	Signature string // "SDMP" (kernel) or "FDMP" (complete)
	FirstPage int64  // file offset of the first stored page; not always page aligned
	Present   uint64 // stored pages, as the sub-header states
	Bits      uint64 // PFNs the bitmap covers
}

// RDMPHeader is the sub-header of dumps written by the debugger's
// .dump /k, /ka and /f (types 8, 9, 10), as kdmp-parser reads it.
type RDMPHeader struct {
	MetadataSize    uint64
	FirstPageOffset uint64
	Ranges          int
	// Type 10 (FULL_RDMP_HEADER64) only.
	NumberOfRanges     uint32
	TotalNumberOfPages uint64
}

// containerParsers gives, per dump type, how the physical pages are laid
// out in the file.
var containerParsers = map[DumpType]func(f *File) (physMem, error){
	TypeFull:         parseRuns,
	TypeSummary:      parseSummary,
	TypeTriage:       func(*File) (physMem, error) { return noMem{}, nil },
	TypeBitmapFull:   parseBitmap,
	TypeBitmapKernel: parseBitmap,
	TypeRDMPKernel:   parseRDMP,
	TypeRDMPActive:   parseRDMP,
	TypeRDMPFull:     parseRDMP,
}

// parseRuns reads the PHYSICAL_MEMORY_DESCRIPTOR of a run-based dump.
// Pages are packed run after run right after the header.
func parseRuns(f *File) (physMem, error) {
	runs, desc, err := f.descriptorRuns()
	if err != nil {
		return nil, err
	}
	off := f.HeaderSize()
	for i := range runs {
		runs[i].FileOff = off
		off += int64(runs[i].PageCount) * PageSize
	}
	m := newRunMem(runs, desc)
	if a, b, ok := m.overlap(); ok {
		return nil, &FormatError{Off: f.physBlockOff(), Field: hPhysicalMemoryBlock.String(),
			Msg: fmt.Sprintf("runs at PFN %#x (+%d) and %#x overlap", a.BasePage, a.PageCount, b.BasePage)}
	}
	return m, nil
}

func (f *File) physBlockOff() int64 { return int64(headerOff(f.Is64, hPhysicalMemoryBlock)) }

// descriptorRuns decodes the header's physical memory descriptor:
// 32-bit {u32 NumberOfRuns; u32 NumberOfPages; {u32 BasePage, u32 PageCount}[]},
// 64-bit {u32 NumberOfRuns; pad; u64 NumberOfPages; {u64, u64}[] at +0x10}.
func (f *File) descriptorRuns() ([]Run, uint64, error) {
	hb := f.headerBytes
	base, end := headerOff(f.Is64, hPhysicalMemoryBlock), headerOff(f.Is64, hContextRecord)
	entry, first := 8, 8
	if f.Is64 {
		entry, first = 16, 16
	}
	nruns := binary.LittleEndian.Uint32(hb[base:])
	if nruns == sigPAGE {
		return nil, 0, &FormatError{Off: int64(base), Field: hPhysicalMemoryBlock.String(), Msg: "not set (holds the PAGE fill pattern)"}
	}
	var npages uint64
	if f.Is64 {
		npages = binary.LittleEndian.Uint64(hb[base+8:])
	} else {
		npages = uint64(binary.LittleEndian.Uint32(hb[base+4:]))
	}
	if max := (end - base - first) / entry; int(nruns) > max || nruns == 0 {
		return nil, 0, &FormatError{Off: int64(base), Field: "NumberOfRuns", Val: nruns,
			Msg: fmt.Sprintf("must be 1 to %d", max)}
	}
	runs := make([]Run, nruns)
	var sum uint64
	for i := range runs {
		o := base + first + i*entry
		if f.Is64 {
			runs[i].BasePage = binary.LittleEndian.Uint64(hb[o:])
			runs[i].PageCount = binary.LittleEndian.Uint64(hb[o+8:])
		} else {
			runs[i].BasePage = uint64(binary.LittleEndian.Uint32(hb[o:]))
			runs[i].PageCount = uint64(binary.LittleEndian.Uint32(hb[o+4:]))
		}
		if runs[i].PageCount > 1<<40 || runs[i].BasePage > 1<<40 {
			return nil, 0, &FormatError{Off: int64(o), Field: fmt.Sprintf("Run[%d]", i), Msg: "page numbers out of range"}
		}
		sum += runs[i].PageCount
	}
	if sum != npages {
		return nil, 0, &FormatError{Off: int64(base), Field: "NumberOfPages", Val: npages,
			Msg: fmt.Sprintf("runs add up to %d pages, the descriptor says %d", sum, npages)}
	}
	return runs, npages, nil
}

// parseBitmap reads the SDMP/FDMP sub-header of bitmap dumps (types 5 and
// 6): at 0x2000 (64-bit) or 0x1000 (32-bit, as volatility3 reads it),
// FirstPage +0x20, TotalPresentPages +0x28, Pages (bits) +0x30, bitmap +0x38.
func parseBitmap(f *File) (physMem, error) {
	off := f.HeaderSize()
	sub, err := f.readAt(off, 0x38)
	if err != nil {
		return nil, &FormatError{Off: off, Field: "bitmap header", Msg: "truncated: " + err.Error()}
	}
	sig := string(sub[0:4])
	if sig != "SDMP" && sig != "FDMP" {
		return nil, &FormatError{Off: off, Field: "bitmap Signature", Msg: fmt.Sprintf("%q, want SDMP or FDMP", sig)}
	}
	bh := &BitmapHeader{
		Off:       off,
		Signature: sig,
		FirstPage: int64(binary.LittleEndian.Uint64(sub[0x20:])),
		Present:   binary.LittleEndian.Uint64(sub[0x28:]),
		Bits:      binary.LittleEndian.Uint64(sub[0x30:]),
	}
	f.Bitmap = bh
	return f.bitmapBody(bh, off+0x38, "TotalPresentPages", off+0x28)
}

// parseSummary reads the old summary kernel dump (type 2, XP to 7).
// Layout from _SUMMARY_DUMP (32-bit) and _SUMMARY_DUMP64 of the WDK type
// information, as an unmerged volatility3 branch (commit 3f4f2187) and
// Ghidra's SummaryHeader also read it: Signature 'SDMP', ValidDump 'DUMP',
// DumpOptions +8, HeaderSize +0xC (file offset of the first stored page),
// BitmapSize +0x10 (bits), Pages +0x14 (stored pages), then an RTL_BITMAP
// {SizeOfBitMap, Buffer}: the bits follow at +0x20 (32-bit) or +0x28 (64-bit,
// where Buffer is 8 bytes and 8-aligned). HeaderSize is used as read: it
// is not assumed to be page aligned.
func parseSummary(f *File) (physMem, error) {
	off := f.HeaderSize()
	sub, err := f.readAt(off, 0x28)
	if err != nil {
		return nil, &FormatError{Off: off, Field: "summary header", Msg: "truncated: " + err.Error()}
	}
	if sig := string(sub[0:4]); sig != "SDMP" {
		return nil, &FormatError{Off: off, Field: "summary Signature", Msg: fmt.Sprintf("%q, want SDMP", sig)}
	}
	if v := string(sub[4:8]); v != "DUMP" {
		return nil, &FormatError{Off: off + 4, Field: "summary ValidDump", Msg: fmt.Sprintf("%q, want DUMP", v)}
	}
	bh := &BitmapHeader{
		Off:       off,
		Signature: "SDMP",
		FirstPage: int64(binary.LittleEndian.Uint32(sub[0xC:])),
		Bits:      uint64(binary.LittleEndian.Uint32(sub[0x10:])),
		Present:   uint64(binary.LittleEndian.Uint32(sub[0x14:])),
	}
	f.Bitmap = bh
	bits := off + 0x20
	if f.Is64 {
		bits = off + 0x28
	}
	return f.bitmapBody(bh, bits, "Pages", off+0x14)
}

// bitmapBody validates a bitmap sub-header and builds its index.
func (f *File) bitmapBody(bh *BitmapHeader, bitsOff int64, countField string, countOff int64) (physMem, error) {
	// 2^40 pages is the 52-bit physical address space of x64 and ARM64.
	const maxBits = 1 << 40
	if bh.Bits == 0 || bh.Bits > maxBits {
		return nil, &FormatError{Off: bh.Off, Field: "bitmap size", Val: bh.Bits, Msg: "out of range"}
	}
	// A real bitmap describes a machine's physical memory and the dump
	// stores a share of it: kernel memory alone is far more than one page
	// in 4096. A size beyond that (and beyond 1 TiB) is damage, and would
	// cost a scan of its bytes for nothing.
	if bh.Bits > denseMaxBits && bh.Bits/4096 > bh.Present {
		return nil, &FormatError{Off: bh.Off, Field: "bitmap size", Val: bh.Bits,
			Msg: fmt.Sprintf("describes %d pages for %d stored: implausible", bh.Bits, bh.Present)}
	}
	nbytes := int64((bh.Bits + 7) / 8)
	if nbytes > f.size-bitsOff {
		return nil, &FormatError{Off: bitsOff, Field: "bitmap", Msg: fmt.Sprintf("%d bytes of bitmap run past the end of the %d-byte file", nbytes, f.size)}
	}
	if bh.FirstPage < bitsOff+nbytes {
		return nil, &FormatError{Off: bh.Off, Field: "FirstPage", Val: bh.FirstPage, Msg: "points inside the bitmap"}
	}
	b := newBitmapBuilder(bh.Bits, bh.FirstPage)
	for o := int64(0); o < nbytes; {
		if f.nextData != nil { // holes of a sparse file are zero bits: skip them unread
			d := f.nextData(bitsOff + o)
			if d < 0 || d-bitsOff > nbytes {
				d = bitsOff + nbytes
			}
			if d > bitsOff+o {
				b.skipZeros(d - bitsOff - o)
				o = d - bitsOff
				continue
			}
		}
		n := min(nbytes-o, scanWindow)
		chunk, err := f.readAt(bitsOff+o, int(n))
		if err != nil {
			return nil, err
		}
		b.add(chunk)
		if f.mapped {
			doneReading(chunk) // a sparse bitmap's zero pages are not kept
		}
		if b.m.count > bh.Present {
			break // already disagrees: no need to read the rest
		}
		o += n
	}
	m := b.done()
	if m.count != bh.Present {
		return nil, &FormatError{Off: countOff, Field: countField, Val: bh.Present,
			Msg: fmt.Sprintf("bitmap counts disagree: %s bits set, the header says %d pages", countText(m.count, bh.Present), bh.Present)}
	}
	return m, nil
}

func countText(n, want uint64) string {
	if n > want {
		return fmt.Sprintf("more than %d", want)
	}
	return fmt.Sprint(n)
}

// parseRDMP reads the RDMP sub-header at 0x2000: {u32 Marker = 0x40;
// 'RDMP'; 'DUMP'; u32; u64 MetadataSize; u64 FirstPageOffset}, then at
// 0x2030 {u64 Pfn, u64 NumberOfPages} ranges; pages are packed from
// FirstPageOffset (kdmp-parser). Types 8 and 9 end the list at a zero
// Pfn. Type 10 (FULL_RDMP_HEADER64) states NumberOfRanges (+0x20) and
// TotalNumberOfPages (+0x28): the list is bounded by them, and a range may
// start at PFN 0, as complete memory does.
func parseRDMP(f *File) (physMem, error) {
	const at = 0x2000
	if !f.Is64 {
		return nil, &FormatError{Off: at, Field: "DumpType", Val: uint32(f.DumpType), Msg: "RDMP dumps are 64-bit only"}
	}
	sub, err := f.readAt(at, 0x30)
	if err != nil {
		return nil, &FormatError{Off: at, Field: "RDMP header", Msg: "truncated: " + err.Error()}
	}
	if m := binary.LittleEndian.Uint32(sub); m != 0x40 {
		return nil, &FormatError{Off: at, Field: "RDMP Marker", Val: m, Msg: "want 0x40"}
	}
	if s := string(sub[4:8]); s != "RDMP" {
		return nil, &FormatError{Off: at + 4, Field: "RDMP Signature", Msg: fmt.Sprintf("%q, want RDMP", s)}
	}
	if s := string(sub[8:12]); s != "DUMP" {
		return nil, &FormatError{Off: at + 8, Field: "RDMP ValidDump", Msg: fmt.Sprintf("%q, want DUMP", s)}
	}
	rh := &RDMPHeader{
		MetadataSize:    binary.LittleEndian.Uint64(sub[0x10:]),
		FirstPageOffset: binary.LittleEndian.Uint64(sub[0x18:]),
	}
	if rh.MetadataSize < 0x20 || rh.MetadataSize-0x20 != rh.FirstPageOffset-0x2040 || rh.FirstPageOffset > uint64(f.size) {
		return nil, &FormatError{Off: at + 0x10, Field: "RDMP MetadataSize/FirstPageOffset",
			Msg: fmt.Sprintf("%#x/%#x do not agree (MetadataSize-0x20 must equal FirstPageOffset-0x2040, inside the file)", rh.MetadataSize, rh.FirstPageOffset)}
	}
	f.RDMP = rh
	full := f.DumpType == TypeRDMPFull
	slots := (int64(rh.FirstPageOffset) - 0x2030) / 16 // range entries the metadata can hold
	if full {
		rh.NumberOfRanges = binary.LittleEndian.Uint32(sub[0x20:])
		rh.TotalNumberOfPages = binary.LittleEndian.Uint64(sub[0x28:])
		if int64(rh.NumberOfRanges) > slots || rh.NumberOfRanges == 0 {
			return nil, &FormatError{Off: at + 0x20, Field: "NumberOfRanges", Val: rh.NumberOfRanges,
				Msg: fmt.Sprintf("must be 1 to %d (the ranges the metadata before FirstPageOffset holds)", max(slots, 0))}
		}
		if rh.TotalNumberOfPages == 0 || rh.TotalNumberOfPages > 1<<40 {
			return nil, &FormatError{Off: at + 0x28, Field: "TotalNumberOfPages", Val: rh.TotalNumberOfPages, Msg: "out of range"}
		}
		slots = int64(rh.NumberOfRanges)
	}
	var runs []Run
	var total uint64
	page := int64(rh.FirstPageOffset)
	for i := int64(0); i < slots; i++ {
		o := 0x2030 + i*16
		e, err := f.readAt(o, 16)
		if err != nil {
			return nil, err
		}
		pfn, n := binary.LittleEndian.Uint64(e), binary.LittleEndian.Uint64(e[8:])
		if !full && pfn == 0 {
			break
		}
		if n > 1<<40 || pfn > 1<<40 || total+n > 1<<40 || (full && n > rh.TotalNumberOfPages-total) {
			return nil, &FormatError{Off: o, Field: fmt.Sprintf("RDMP range %d", i),
				Msg: fmt.Sprintf("PFN %#x count %#x out of range", pfn, n)}
		}
		runs = append(runs, Run{BasePage: pfn, PageCount: n, FileOff: page})
		page += int64(n) * PageSize
		total += n
		if full && total == rh.TotalNumberOfPages {
			break
		}
	}
	if full && total != rh.TotalNumberOfPages {
		return nil, &FormatError{Off: at + 0x28, Field: "TotalNumberOfPages", Val: rh.TotalNumberOfPages,
			Msg: fmt.Sprintf("the %d ranges add up to %d pages", len(runs), total)}
	}
	rh.Ranges = len(runs)
	m := newRunMem(runs, 0)
	if a, b, ok := m.overlap(); ok {
		return nil, &FormatError{Off: 0x2030, Field: "RDMP ranges",
			Msg: fmt.Sprintf("ranges at PFN %#x and %#x overlap", a.BasePage, b.BasePage)}
	}
	return m, nil
}

// pagesPastEnd counts stored pages that lie (partly) past the end of the file.
func pagesPastEnd(m physMem, size int64) uint64 {
	if bm, ok := m.(*bitmapMem); ok { // dense: no need to walk the bits
		if bm.firstPage >= size {
			return bm.count
		}
		return bm.count - min(bm.count, uint64((size-bm.firstPage)/PageSize))
	}
	var n uint64
	m.each(func(pfn, count uint64, off int64) bool {
		n += count - min(count, pagesBefore(off, size))
		return true
	})
	return n
}

// pagesBefore is how many whole pages from off fit before size.
func pagesBefore(off, size int64) uint64 {
	if off < 0 || off >= size {
		return 0
	}
	return uint64((size - off) / PageSize)
}
