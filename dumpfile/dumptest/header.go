package dumptest

import (
	"encoding/binary"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
)

// la57 rewrites a 48-bit kernel address into a 57-bit canonical one that
// is not 48-bit canonical, as a 5-level paging kernel would report.
func la57(va uint64) uint64 { return va&0x0000FFFFFFFFFFFF | 0xFF7F000000000000 }

// filetime converts t to a Windows FILETIME (100 ns since 1601); the zero
// time gives 0.
func filetime(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	const epochDiff = 116444736000000000 // 1601-01-01 to 1970-01-01 in 100 ns
	return uint64(t.Unix()*10_000_000 + int64(t.Nanosecond()/100) + epochDiff)
}

// writeHeader fills hdr (the header's size) with the PAGE pattern and
// the fields the reference lists. runs is the run descriptor to store;
// nil leaves the PAGE pattern there (triage dumps).
func (b *Builder) writeHeader(hdr []byte, runs []pfnRange, size uint64) {
	h, c := b.arch.hdr, b.cfg
	for i := 0; i+4 <= len(hdr); i += 4 {
		copy(hdr[i:], "PAGE")
	}
	le := binary.LittleEndian
	ptr := func(off int, v uint64) {
		if h.ptr == 4 {
			le.PutUint32(hdr[off:], uint32(v))
		} else {
			le.PutUint64(hdr[off:], v)
		}
	}
	copy(hdr[4:], h.validDump)
	le.PutUint32(hdr[8:], 0xF)
	le.PutUint32(hdr[0xC:], c.Build)
	ptr(h.dtb, b.dtb)
	ptr(h.pfnDatabase, b.arch.pfnDatabase)
	psLoaded, kdbg := b.syms["PsLoadedModuleList"], b.kdbgVA
	if c.LA57 {
		psLoaded, kdbg = la57(psLoaded), la57(kdbg)
	}
	ptr(h.psLoadedModuleList, psLoaded)
	ptr(h.psActiveProcessHead, b.syms["PsActiveProcessHead"])
	le.PutUint32(hdr[h.machine:], b.arch.machine)
	le.PutUint32(hdr[h.cpus:], c.CPUs)
	le.PutUint32(hdr[h.bugCheck:], c.BugCheck)
	for i, p := range c.BugCheckParams {
		ptr(h.bugParams+i*h.ptr, p)
	}
	if h.paeEnabled >= 0 {
		pae := byte(0)
		if c.Arch == dumpfile.ArchX86PAE {
			pae = 1
		}
		hdr[h.paeEnabled] = pae
	}
	ptr(h.kdbg, kdbg)
	if runs != nil {
		pb := hdr[h.physBlock:]
		var total uint64
		for i, r := range runs {
			e := pb[h.runsAt+i*h.runSize:]
			if h.ptr == 4 {
				le.PutUint32(e, uint32(r.start))
				le.PutUint32(e[4:], uint32(r.count()))
			} else {
				le.PutUint64(e, r.start)
				le.PutUint64(e[8:], r.count())
			}
			total += r.count()
		}
		le.PutUint32(pb, uint32(len(runs)))
		if h.ptr == 4 {
			le.PutUint32(pb[4:], uint32(total))
		} else {
			le.PutUint32(pb[4:], 0)
			le.PutUint64(pb[8:], total)
		}
	}
	clear(hdr[h.context : h.context+h.contextLen])
	clear(hdr[h.exception : h.exception+h.exceptionLen])
	if c.Comment != "" {
		n := copy(hdr[h.comment:h.comment+127], c.Comment)
		hdr[h.comment+n] = 0
	}
	le.PutUint32(hdr[h.attributes:], c.Attributes)
	le.PutUint32(hdr[h.dumpType:], uint32(c.Type))
	le.PutUint32(hdr[h.productType:], c.ProductType)
	le.PutUint64(hdr[h.requiredDumpSpace:], size)
	le.PutUint64(hdr[h.systemTime:], filetime(c.SystemTime))
	le.PutUint64(hdr[h.systemUpTime:], uint64(c.Uptime/100))
}
