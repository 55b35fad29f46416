package pe

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/internal/peimage"
)

// KernelExports names the pool routines that the modules loaded in one
// crash dump export, by address. A driver read from a dump has usually
// lost its import names with its INIT section, but its IAT slots still
// hold the addresses the loader resolved them to; this map names those
// slots. Build it once per dump with NewKernelExports and pass it to
// ScanLoadedWith for every module. It is not changed after it is built,
// so scans may share it.
type KernelExports struct {
	// Notes says which modules' export directories could not be read,
	// or were read in part, and why.
	Notes []string

	byAddr map[uint64]kernelExport
	lo, hi uint64 // range of the addresses in byAddr
}

type kernelExport struct {
	routine int    // index in poolRoutines
	module  string // the exporting module's name in the dump
}

// Bounds on export directories, so that a corrupt one cannot ask for
// gigabytes: ntoskrnl.exe exports about 3,000 names in a directory of
// about 100 KiB.
const (
	maxExportDir   = 4 << 20
	maxExportNames = 1 << 16
	maxExportName  = 256
)

// NewKernelExports reads the export directory (data directory 0 of the
// in-memory PE header) of each module in mods, the kernel first as the
// module list has it, and keeps the exports named like a pool routine
// (routines.go). Forwarders are ignored: the module they forward to
// exports the routine itself. Modules that export nothing are skipped
// quietly; those whose directory the dump does not hold, or holds in
// part, are named in Notes. It fails only when the dump cannot give any
// module's memory.
func NewKernelExports(f *dumpfile.File, mods []dumpfile.Module) (*KernelExports, error) {
	if err := f.ReadableError(); err != nil {
		return nil, fmt.Errorf("%s: no export tables: %w", f.Name(), err)
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("%s: no export tables: the module list is empty", f.Name())
	}
	k := &KernelExports{byAddr: map[uint64]kernelExport{}, lo: ^uint64(0)}
	for _, m := range mods {
		missing, err := readExports(f, m, func(addr uint64, routine int) {
			if _, ok := k.byAddr[addr]; ok {
				return // the first module to claim an address keeps it
			}
			k.byAddr[addr] = kernelExport{routine, m.Name}
			k.lo, k.hi = min(k.lo, addr), max(k.hi, addr)
		})
		switch {
		case errors.Is(err, errNoExports):
		case err != nil:
			k.Notes = append(k.Notes, fmt.Sprintf("%s: export directory not read: %v", m.Name, err))
		case missing > 0:
			k.Notes = append(k.Notes, fmt.Sprintf("%s: %d export names not in the dump: the routines they name are not recognised in IAT slots", m.Name, missing))
		}
	}
	return k, nil
}

// Lookup names the pool routine exported at addr as "module!Name".
func (k *KernelExports) Lookup(addr uint64) (string, bool) {
	e, ok := k.byAddr[addr]
	if !ok {
		return "", false
	}
	return e.module + "!" + poolRoutines[e.routine].name, true
}

// Len returns how many pool routine addresses are known.
func (k *KernelExports) Len() int { return len(k.byAddr) }

// routine returns the index in poolRoutines of the routine at addr.
func (k *KernelExports) routine(addr uint64) (int, bool) {
	if addr < k.lo || addr > k.hi {
		return 0, false // most words of a data section: no map lookup
	}
	e, ok := k.byAddr[addr]
	return e.routine, ok
}

// errNoExports: the module has no export directory.
var errNoExports = errors.New("no export directory")

// readExports reads module m's export directory from the dump and calls
// add for each named export of a pool routine. It returns how many names
// the dump could not give.
func readExports(f *dumpfile.File, m dumpfile.Module, add func(addr uint64, routine int)) (missing int, err error) {
	label := "dump module " + m.Name
	h, err := f.ImageHeaders(m.Base)
	if err != nil {
		return 0, imageError(label, err)
	}
	dirEntry, ok := h.Directory(peimage.DirExport)
	if !ok || dirEntry.VirtualAddress == 0 || dirEntry.Size == 0 {
		return 0, errNoExports
	}
	dirs := h.DirectoryOffset(peimage.DirExport)
	dirRVA, dirSize := dirEntry.VirtualAddress, dirEntry.Size
	le := binary.LittleEndian
	size := m.SizeOfImage
	if size == 0 {
		size = m.Size
	}
	if dirSize < peimage.ExportDirectorySize || dirSize > maxExportDir || uint64(dirRVA)+uint64(dirSize) > uint64(size) {
		return 0, &FormatError{label, "export directory entry", dirs, fmt.Sprintf("RVA %#x size %#x does not fit a %#x-byte image", dirRVA, dirSize, size)}
	}
	r := &exportReader{f: f, base: m.Base, label: label, dirRVA: dirRVA, buf: make([]byte, dirSize)}
	r.read()
	raw, err := r.at(dirRVA, peimage.ExportDirectorySize)
	if err != nil {
		return 0, err
	}
	dir, err := peimage.DecodeExportDirectory(raw)
	if err != nil {
		return 0, imageError(label, err)
	}
	nfuncs, nnames := dir.NumberOfFunctions, dir.NumberOfNames
	funcsRVA, namesRVA, ordsRVA := dir.AddressOfFunctions, dir.AddressOfNames, dir.AddressOfNameOrdinals
	if nnames > maxExportNames || nfuncs > maxExportNames {
		return 0, &FormatError{label, "export directory NumberOfNames", int64(dirRVA) + peimage.ExportNumberOfNamesOffset, fmt.Sprintf("%d names, %d functions: more than %d", nnames, nfuncs, maxExportNames)}
	}
	if nnames == 0 {
		return 0, nil
	}
	names, err := r.at(namesRVA, 4*nnames)
	if err != nil {
		return 0, err
	}
	ords, err := r.at(ordsRVA, 2*nnames)
	if err != nil {
		return 0, err
	}
	for i := uint32(0); i < nnames; i++ {
		name, err := r.name(le.Uint32(names[4*i:]))
		if err != nil {
			missing++
			continue
		}
		routine, ok := lookupRoutine(name)
		if !ok {
			continue
		}
		ord := uint32(le.Uint16(ords[2*i:]))
		if ord >= nfuncs {
			return missing, &FormatError{label, "export name ordinal of " + name, int64(ordsRVA + 2*i), fmt.Sprintf("%d, but there are %d functions", ord, nfuncs)}
		}
		fn, err := r.at(funcsRVA+4*ord, 4)
		if err != nil {
			missing++
			continue
		}
		rva := le.Uint32(fn)
		if rva == 0 || rva >= dirRVA && rva-dirRVA < dirSize || rva >= size {
			continue // a forwarder string, or no code in this image
		}
		add(m.Base+uint64(rva), routine)
	}
	return missing, nil
}

// exportReader reads an export directory and what it points to. The
// linker keeps the tables and names inside the directory's range, which
// is read page by page once; anything outside it is read on demand.
type exportReader struct {
	f      *dumpfile.File
	base   uint64
	label  string
	dirRVA uint32
	buf    []byte
	have   []bool // per page of buf, from the page holding dirRVA
}

func (r *exportReader) read() {
	start := r.base + uint64(r.dirRVA)
	for off := 0; off < len(r.buf); {
		va := start + uint64(off)
		n := min(len(r.buf)-off, int(dumpfile.PageSize-va%dumpfile.PageSize))
		_, err := r.f.ReadVirtual(va, r.buf[off:off+n])
		r.have = append(r.have, err == nil)
		off += n
	}
}

// at returns n bytes at rva.
func (r *exportReader) at(rva, n uint32) ([]byte, error) {
	if rva >= r.dirRVA && uint64(rva-r.dirRVA)+uint64(n) <= uint64(len(r.buf)) {
		first := (r.dirRVA % dumpfile.PageSize) + (rva - r.dirRVA)
		last := first + n - 1
		ok := true
		for p := first / dumpfile.PageSize; p <= last/dumpfile.PageSize && n > 0; p++ {
			ok = ok && r.have[p]
		}
		if ok {
			off := rva - r.dirRVA
			return r.buf[off : off+n], nil
		}
		return nil, fmt.Errorf("%s: export data at RVA %#x not in the dump", r.label, rva)
	}
	if n > maxExportDir {
		return nil, &FormatError{r.label, "export table", int64(rva), fmt.Sprintf("%d bytes", n)}
	}
	b := make([]byte, n)
	if _, err := r.f.ReadVirtual(r.base+uint64(rva), b); err != nil {
		return nil, fmt.Errorf("%s: export data at RVA %#x: %w", r.label, rva, err)
	}
	return b, nil
}

// name reads the NUL-terminated export name at rva.
func (r *exportReader) name(rva uint32) (string, error) {
	if rva >= r.dirRVA && int(rva-r.dirRVA) < len(r.buf) {
		b := r.buf[rva-r.dirRVA:]
		b = b[:min(len(b), maxExportName)]
		if i := bytes.IndexByte(b, 0); i >= 0 {
			// Pages the dump lacks read as zeros: the name must lie in
			// pages that were read, its NUL included.
			if _, err := r.at(rva, uint32(i+1)); err != nil {
				return "", err
			}
			return string(b[:i]), nil
		}
		// The name runs past the directory's range: read it directly.
	}
	b := make([]byte, maxExportName)
	n, err := r.f.ReadVirtual(r.base+uint64(rva), b)
	i := bytes.IndexByte(b[:n], 0)
	switch {
	case i >= 0:
		return string(b[:i]), nil
	case err != nil:
		return "", fmt.Errorf("%s: export name at RVA %#x: %w", r.label, rva, err)
	}
	return "", &FormatError{r.label, "export name", int64(rva), fmt.Sprintf("no NUL within %d bytes", maxExportName)}
}
