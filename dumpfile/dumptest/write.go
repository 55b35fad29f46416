package dumptest

import (
	"encoding/binary"
	"fmt"
	"os"
	"slices"
)

// maxBytes is the largest dump Bytes builds in memory.
const maxBytes = 1 << 30

// finalContent returns the pages holding data as they go to the file:
// the builder's pages with the KDBG encoding, the plain KDBG copy and the
// module-list Damage applied to copies, so the Builder is left unchanged.
func (b *Builder) finalContent() ([]pfnPage, error) {
	over := make(map[uint64]*page)
	patch := func(pfn, off uint64, data []byte) {
		p := over[pfn]
		if p == nil {
			p = new(page)
			if q := b.mem[pfn]; q != nil {
				*p = *q
			}
			over[pfn] = p
		}
		copy(p[off:], data)
	}
	patchVA := func(va uint64, data []byte) {
		for len(data) > 0 {
			pfn, why := b.frame(va)
			if why != "" {
				panic(fmt.Sprintf("dumptest: internal: patch at %#x: %s", va, why))
			}
			off := va & (PageSize - 1)
			n := min(uint64(len(data)), PageSize-off)
			patch(pfn, off, data[:n])
			va += n
			data = data[n:]
		}
	}
	c := b.cfg
	if c.EncodeKDBG {
		blk := b.Read(b.kdbgVA, b.kdbgSize)
		n, w, a := b.KDBGKeys()
		encodeKDBG(blk, n, w, a)
		patchVA(b.kdbgVA, blk)
	}
	if c.PlainKDBGCopy {
		patch(b.plainPFN, uint64(b.plainOff), b.Read(b.kdbgVA, b.kdbgSize))
	}
	ptr := func(v uint64) []byte {
		if b.arch.ptrSize == 4 {
			return binary.LittleEndian.AppendUint32(nil, uint32(v))
		}
		return binary.LittleEndian.AppendUint64(nil, v)
	}
	n := len(b.modules)
	if c.Damage.ModuleListLoop {
		patchVA(b.modules[n-1].entry, ptr(b.modules[min(1, n-1)].entry))
	}
	if c.Damage.ModuleBadPointer {
		patchVA(b.modules[(n-1)/2].entry, ptr(b.UnmappedAddr()))
	}

	var out []pfnPage
	for pfn, p := range b.mem {
		if p != nil && over[pfn] == nil {
			out = append(out, pfnPage{pfn, p})
		}
	}
	for pfn, p := range over {
		out = append(out, pfnPage{pfn, p})
	}
	slices.SortFunc(out, func(x, y pfnPage) int { return cmpU64(x.pfn, y.pfn) })
	return out, nil
}

// UnmappedAddr returns a kernel address no page table maps, the one
// Damage.ModuleBadPointer uses.
func (b *Builder) UnmappedAddr() uint64 {
	va := b.arch.badPointer
	for {
		if _, ok := b.leaves[va>>12]; !ok && b.largeAt(va) == nil {
			return va
		}
		va += 0x10000
	}
}

// Bytes returns the whole dump file. It refuses dumps over 1 GiB: use
// WriteFile for those.
func (b *Builder) Bytes() ([]byte, error) {
	d, err := b.image()
	if err != nil {
		return nil, err
	}
	if d.size > maxBytes {
		return nil, fmt.Errorf("dumptest: dump is %#x bytes, too big to build in memory; use WriteFile", d.size)
	}
	cut, err := b.cut(d.size)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, d.size)
	copy(buf, d.meta)
	for _, pp := range d.content {
		off, ok := d.offset(pp.pfn)
		if !ok {
			return nil, fmt.Errorf("dumptest: internal: page %#x has data but is not stored", pp.pfn)
		}
		copy(buf[off:], pp.p[:])
	}
	return buf[:cut], nil
}

// WriteFile writes the dump to path. Pages that hold no data are left as
// holes, so large padded dumps cost little time and disk.
func (b *Builder) WriteFile(path string) (err error) {
	d, err := b.image()
	if err != nil {
		return err
	}
	cut, err := b.cut(d.size)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}()
	if _, err := f.WriteAt(d.meta, 0); err != nil {
		return err
	}
	for _, pp := range d.content {
		off, ok := d.offset(pp.pfn)
		if !ok {
			return fmt.Errorf("dumptest: internal: page %#x has data but is not stored", pp.pfn)
		}
		if off >= cut || allZero(pp.p[:]) {
			continue
		}
		if _, err := f.WriteAt(pp.p[:min(PageSize, cut-off)], int64(off)); err != nil {
			return err
		}
	}
	return f.Truncate(int64(cut))
}

// cut returns the length the file is cut to.
func (b *Builder) cut(size uint64) (uint64, error) {
	t := b.cfg.Damage.Truncate
	if t == 0 {
		return size, nil
	}
	if uint64(t) > size {
		return 0, fmt.Errorf("dumptest: Damage.Truncate %#x is past the end of the %#x-byte dump", t, size)
	}
	return uint64(t), nil
}
