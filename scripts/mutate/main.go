//go:build linux

// Command mutate is the hostile-input campaign: it derives thousands of
// damaged dumps and drivers from the samples in testdata/ and from dumps
// generated with dumptest, runs poolblame on each under a time and memory
// limit, and counts what went wrong: panics, hangs, memory over the limit,
// exit statuses outside the documented ones, and errors that do not name
// the file. Run it from the repository root:
//
//	go run ./scripts/mutate -dumps 5000 -drivers 5000 -seed 1
//
// The same seed gives the same mutants. Failing mutants are kept in -keep
// (one file per failure, named after the mutation) to reproduce them.
// It runs on Linux only: memory is limited with prlimit(1) and measured
// from the child's rusage.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

type options struct {
	seed            uint64
	dumps, drivers  int
	timeout         time.Duration
	memLimit        int64 // peak RSS above this is a failure
	hardLimit       int64 // RLIMIT_AS of each run: a runaway allocation ends there
	workers         int
	bin, keep, work string
}

func main() {
	var o options
	flag.Uint64Var(&o.seed, "seed", 1, "seed of every random choice")
	flag.IntVar(&o.dumps, "dumps", 5000, "dump mutants")
	flag.IntVar(&o.drivers, "drivers", 5000, "driver mutants")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Second, "a run taking longer is a hang")
	mem := flag.Int64("mem", 1024, "peak memory limit per run, MiB")
	flag.IntVar(&o.workers, "j", 2, "runs in parallel")
	flag.StringVar(&o.bin, "bin", "", "poolblame binary (default: built from ./cmd/poolblame)")
	flag.StringVar(&o.keep, "keep", "", "folder for failing mutants (default: none kept)")
	flag.Parse()
	o.memLimit = *mem << 20
	o.hardLimit = 4 * o.memLimit
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

func run(o options) error {
	var err error
	if o.work, err = os.MkdirTemp("", "poolblame-mutate-"); err != nil {
		return err
	}
	defer os.RemoveAll(o.work)
	if o.bin == "" {
		o.bin = filepath.Join(o.work, "poolblame")
		if out, err := exec.Command("go", "build", "-o", o.bin, "./cmd/poolblame").CombinedOutput(); err != nil {
			return fmt.Errorf("build: %w\n%s", err, out)
		}
	}
	if o.keep != "" {
		if err := os.MkdirAll(o.keep, 0o755); err != nil {
			return err
		}
	}
	dumpSrc, err := dumpSources()
	if err != nil {
		return err
	}
	drvSrc, err := driverSources()
	if err != nil {
		return err
	}
	fmt.Printf("seed %d: %d dump mutants from %d sources, %d driver mutants from %d sources, %d at a time, limits %v and %d MiB\n",
		o.seed, o.dumps, len(dumpSrc), o.drivers, len(drvSrc), o.workers, o.timeout, o.memLimit>>20)

	start := time.Now()
	st := newStats()
	jobs := make(chan job)
	var wg sync.WaitGroup
	for w := 0; w < o.workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				st.add(j, runJob(o, j))
			}
		}()
	}
	for i := 0; i < o.dumps; i++ {
		r := rand.New(rand.NewPCG(o.seed, uint64(i)))
		src := dumpSrc[r.IntN(len(dumpSrc))]
		data, what := mutateDump(r, src)
		jobs <- job{kind: "dump", n: i, src: src.name, what: what, data: data}
	}
	for i := 0; i < o.drivers; i++ {
		r := rand.New(rand.NewPCG(o.seed, 1<<32+uint64(i)))
		src := drvSrc[r.IntN(len(drvSrc))]
		data, what := mutatePE(r, src.data)
		jobs <- job{kind: "driver", n: i, src: src.name, what: what, data: data}
	}
	close(jobs)
	wg.Wait()
	st.print(os.Stdout, time.Since(start))
	if st.bad() {
		os.Exit(1)
	}
	return nil
}

// A source is a file mutants are derived from.
type source struct {
	name string
	data []byte
	dump *dumpfile.File // for dumps: where its parts are
}

func dumpSources() ([]source, error) {
	var out []source
	for _, p := range []string{"testdata/win2003-x86-isil.dmp", "testdata/win11-x64-ctfl.dmp"} {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out = append(out, source{name: filepath.Base(p), data: b})
	}
	// Every container and paging mode dumptest builds.
	gen := []struct {
		arch dumpfile.Arch
		typ  dumpfile.DumpType
	}{
		{dumpfile.ArchX86, dumpfile.TypeFull}, {dumpfile.ArchX86PAE, dumpfile.TypeSummary},
		{dumpfile.ArchX86, dumpfile.TypeBitmapKernel}, {dumpfile.ArchAMD64, dumpfile.TypeFull},
		{dumpfile.ArchAMD64, dumpfile.TypeBitmapFull}, {dumpfile.ArchAMD64, dumpfile.TypeRDMPKernel},
		{dumpfile.ArchAMD64, dumpfile.TypeRDMPFull}, {dumpfile.ArchARM64, dumpfile.TypeBitmapFull},
		{dumpfile.ArchAMD64, dumpfile.TypeTriage},
	}
	for i, g := range gen {
		b := dumptest.New(dumptest.Config{Arch: g.arch, Type: g.typ, CPUs: 4, BugCheck: 0xE2, Seed: int64(i + 1),
			MemoryPages: 0x8000, UnalignedFirstPage: g.typ == dumpfile.TypeBitmapFull})
		b.AddModule(dumptest.Module{Name: "isil.sys", TimeDateStamp: 0x41234567, Size: 0x6000})
		raw, err := b.Bytes()
		if err != nil {
			return nil, fmt.Errorf("dumptest %v type %d: %w", g.arch, g.typ, err)
		}
		out = append(out, source{name: fmt.Sprintf("gen-%v-type%d", g.arch, g.typ), data: raw})
	}
	for i := range out {
		f, err := dumpfile.NewFile(out[i].name, dumpfile.Bytes(out[i].data), int64(len(out[i].data)))
		if err != nil {
			return nil, fmt.Errorf("source %s does not open: %w", out[i].name, err)
		}
		out[i].dump = f
	}
	return out, nil
}

func driverSources() ([]source, error) {
	var out []source
	for _, glob := range []string{"testdata/drivers-2003/*.sys", "testdata/drivers-win11/*.sys", "pe/testdata/*.sys"} {
		ms, _ := filepath.Glob(glob)
		for _, p := range ms {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			out = append(out, source{name: filepath.Base(p), data: b})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no driver sources: run from the repository root")
	}
	return out, nil
}

// extremes are the values a damaged field is set to.
var extremes = []uint64{0, 1, 2, 0x7F, 0x80, 0xFF, 0x1000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
	1 << 32, 1 << 40, 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF}

func extreme(r *rand.Rand) uint64 {
	if r.IntN(4) == 0 {
		return r.Uint64() >> (r.IntN(64))
	}
	return extremes[r.IntN(len(extremes))]
}

func put(b []byte, off, width int, v uint64) {
	if off < 0 || off+width > len(b) {
		return
	}
	switch width {
	case 2:
		binary.LittleEndian.PutUint16(b[off:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b[off:], uint32(v))
	default:
		binary.LittleEndian.PutUint64(b[off:], v)
	}
}

func flip(r *rand.Rand, b []byte, lo, hi, n int) {
	lo, hi = max(lo, 0), min(hi, len(b))
	if hi <= lo {
		return
	}
	for range n {
		i := lo + r.IntN(hi-lo)
		b[i] ^= 1 << r.IntN(8)
	}
}

// headerFields are (offset, width) of the dump header fields a reader
// trusts, 32-bit and 64-bit layouts (mindumpdef.h as the reference
// describes it), and of the container sub-headers after them.
var headerFields = map[bool][][2]int{
	false: {{0x08, 4}, {0x0C, 4}, {0x10, 4}, {0x14, 4}, {0x18, 4}, {0x1C, 4}, {0x20, 4}, {0x24, 4}, {0x28, 4},
		{0x2C, 4}, {0x30, 4}, {0x34, 4}, {0x38, 4}, {0x3C, 4}, {0x40, 4}, {0x5C, 4}, {0x60, 4}, {0x64, 4},
		{0x68, 4}, {0x6C, 4}, {0x70, 4}, {0xF88, 4}, {0xF8C, 4}, {0xFA0, 8}, {0xFB8, 8}, {0xFC0, 8},
		{0x1000, 4}, {0x100C, 4}, {0x1010, 4}, {0x1014, 4}, {0x1018, 4}, {0x1020, 8}, {0x1028, 8}, {0x1030, 8}},
	true: {{0x08, 4}, {0x0C, 4}, {0x10, 8}, {0x18, 8}, {0x20, 8}, {0x28, 8}, {0x30, 4}, {0x34, 4}, {0x38, 4},
		{0x40, 8}, {0x48, 8}, {0x50, 8}, {0x58, 8}, {0x80, 8}, {0x88, 4}, {0x90, 8}, {0x98, 8}, {0xA0, 8},
		{0xA8, 8}, {0xB0, 8}, {0xF98, 4}, {0xFA0, 8}, {0xFA8, 8}, {0xFB0, 8}, {0xFB8, 8}, {0xFC0, 8},
		{0x2020, 8}, {0x2028, 8}, {0x2030, 8}, {0x2010, 8}, {0x2018, 8}, {0x1100, 8}, {0x1108, 4}, {0x1110, 4}},
}

// mutateDump applies one kind of damage and says which.
func mutateDump(r *rand.Rand, src source) ([]byte, string) {
	m := newDumpMutant(r, src)
	switch r.IntN(12) {
	case 0, 1:
		return m.headerField()
	case 2:
		return m.headerFlips()
	case 3:
		return m.container()
	case 4:
		return m.truncate()
	case 5:
		return m.pageTables()
	case 6:
		return m.kdbg()
	case 7:
		return m.tracker()
	case 8:
		return m.moduleList()
	case 9:
		return m.memoryFlips()
	case 10:
		return m.twoHeaderFields()
	default:
		return m.fillPage()
	}
}

// dumpMutant is one copy of a source dump being damaged, with where its
// header ends and its stored pages begin.
type dumpMutant struct {
	r     *rand.Rand
	b     []byte
	is64  bool
	hsize int // header size
	first int // where stored pages begin
}

func newDumpMutant(r *rand.Rand, src source) *dumpMutant {
	f := src.dump
	m := &dumpMutant{r: r, b: append([]byte(nil), src.data...), is64: f.Is64, hsize: 0x1000}
	if f.Is64 {
		m.hsize = 0x2000
	}
	m.first = m.hsize
	if f.Bitmap != nil {
		m.first = int(f.Bitmap.FirstPage)
	} else if f.RDMP != nil {
		m.first = int(f.RDMP.FirstPageOffset)
	}
	return m
}

// headerField sets one header field to an extreme.
func (m *dumpMutant) headerField() ([]byte, string) {
	fl := headerFields[m.is64][m.r.IntN(len(headerFields[m.is64]))]
	v := extreme(m.r)
	put(m.b, fl[0], fl[1], v)
	return m.b, fmt.Sprintf("header field %#x = %#x", fl[0], v)
}

func (m *dumpMutant) headerFlips() ([]byte, string) {
	n := 1 + m.r.IntN(8)
	flip(m.r, m.b, 0, m.hsize, n)
	return m.b, fmt.Sprintf("%d bit flips in the header", n)
}

// container flips bits in the bitmap, run list or RDMP ranges.
func (m *dumpMutant) container() ([]byte, string) {
	n := 1 + m.r.IntN(16)
	flip(m.r, m.b, m.hsize, m.first, n)
	if m.first <= m.hsize { // run-based: the run descriptor lives in the header
		flip(m.r, m.b, 0x64, 0x320, n)
	}
	return m.b, fmt.Sprintf("%d bit flips in the container metadata", n)
}

// truncate cuts the file anywhere, or at one of the places a reader
// crosses.
func (m *dumpMutant) truncate() ([]byte, string) {
	cut := m.r.IntN(len(m.b))
	if m.r.IntN(3) == 0 {
		cut = []int{0, 1, 7, 8, m.hsize - 1, m.hsize, m.hsize + 0x38, m.first, m.first + 0x1000}[m.r.IntN(9)]
		cut = min(cut, len(m.b))
	}
	return m.b[:cut], fmt.Sprintf("truncated to %d bytes", cut)
}

// pageTables changes qwords that look like valid PTEs: another frame, a
// large page where there was none, or an extreme value.
func (m *dumpMutant) pageTables() ([]byte, string) {
	r, b, first := m.r, m.b, m.first
	n := 0
	for tries := 0; tries < 20000 && n < 1+r.IntN(8); tries++ {
		o := first + 8*r.IntN(max(1, (len(b)-first)/8))
		if o+8 > len(b) {
			continue
		}
		v := binary.LittleEndian.Uint64(b[o:])
		if v&1 == 1 && v&0x0000_FFFF_FFFF_F000 != 0 && v>>52&0x7FF == 0 {
			switch r.IntN(3) {
			case 0:
				v ^= 1 << (12 + r.IntN(36)) // another frame
			case 1:
				v |= 1 << 7 // a large page where there was none
			default:
				v = extreme(r) | 1
			}
			binary.LittleEndian.PutUint64(b[o:], v)
			n++
		}
	}
	return b, fmt.Sprintf("%d page-table entries changed", n)
}

// kdbg sets a field of the KDBG block to an extreme.
func (m *dumpMutant) kdbg() ([]byte, string) {
	b, first := m.b, m.first
	i := bytes.Index(b[first:], []byte("KDBG"))
	if i < 0 {
		flip(m.r, b, first, len(b), 4)
		return b, "no KDBG tag: 4 bit flips in memory"
	}
	at := first + i - 0x10
	fo := at + 0x10 + 8*m.r.IntN(0x60)
	v := extreme(m.r)
	put(b, fo, 8, v)
	return b, fmt.Sprintf("KDBG field at +%#x = %#x", fo-at, v)
}

// tracker damages the tracker table page holding a known tag.
func (m *dumpMutant) tracker() ([]byte, string) {
	r, b, first := m.r, m.b, m.first
	tags := [][]byte{[]byte("ISil"), []byte("CtFl"), []byte("smNp"), []byte("PcNw"), []byte("MmSt")}
	tag := tags[r.IntN(len(tags))]
	i := bytes.Index(b[first:], tag)
	if i < 0 {
		flip(r, b, first, len(b), 8)
		return b, "tag not found: 8 bit flips in memory"
	}
	at := first + i
	switch r.IntN(3) {
	case 0: // zero the page
		p := at &^ 0xFFF
		clear(b[max(p, first):min(p+0x1000, len(b))])
		return b, fmt.Sprintf("tracker page with %s zeroed", tag)
	case 1: // counters at extremes
		for o := at + 4; o < at+0x28 && o+8 <= len(b); o += 8 {
			put(b, o, 8, extreme(r))
		}
		return b, fmt.Sprintf("counters after %s at extremes", tag)
	default:
		flip(r, b, at-0x100, at+0x100, 16)
		return b, fmt.Sprintf("16 bit flips around %s", tag)
	}
}

// moduleList changes kernel pointers and UNICODE_STRINGs before a
// ".sys" name.
func (m *dumpMutant) moduleList() ([]byte, string) {
	r, b, first := m.r, m.b, m.first
	i := bytes.Index(b[first:], []byte{'.', 0, 's', 0, 'y', 0, 's', 0})
	if i < 0 {
		flip(r, b, first, len(b), 8)
		return b, "no module name: 8 bit flips in memory"
	}
	at := first + i
	n := 0
	for o := (at - 0x200) &^ 7; o < at && o+8 <= len(b); o += 8 {
		if o < first {
			continue
		}
		v := binary.LittleEndian.Uint64(b[o:])
		if v>>48 == 0xFFFF || (v>>31 == 1 && v>>32 == 0) || (v&0xFFFF != 0 && v>>16&0xFFFF != 0 && v>>32 == 0xFFFF) {
			if r.IntN(3) == 0 {
				put(b, o, 8, extreme(r))
				n++
			}
		}
	}
	return b, fmt.Sprintf("%d pointers before a module name changed", n)
}

func (m *dumpMutant) memoryFlips() ([]byte, string) {
	n := 1 + m.r.IntN(64)
	flip(m.r, m.b, m.first, len(m.b), n)
	return m.b, fmt.Sprintf("%d bit flips in memory", n)
}

func (m *dumpMutant) twoHeaderFields() ([]byte, string) {
	for range 2 {
		fl := headerFields[m.is64][m.r.IntN(len(headerFields[m.is64]))]
		put(m.b, fl[0], fl[1], extreme(m.r))
	}
	return m.b, "two header fields at extremes"
}

// fillPage fills a stored page with 0xFF and random bytes.
func (m *dumpMutant) fillPage() ([]byte, string) {
	r, b, first := m.r, m.b, m.first
	if len(b) <= first {
		return b[:len(b)/2], "halved"
	}
	p := first + r.IntN(len(b)-first)&^0xFFF
	fill := byte(0xFF)
	for i := p; i < min(p+0x1000, len(b)); i++ {
		if r.IntN(2) == 0 {
			b[i] = fill
		} else {
			b[i] = byte(r.Uint32())
		}
	}
	return b, fmt.Sprintf("page at %#x filled", p)
}

// peLayout is where a PE image keeps what a reader trusts.
type peLayout struct {
	lfanew, coff, opt, optSize, dirs, ndirs, sections, nsections int
}

func parsePE(b []byte) (peLayout, bool) {
	var l peLayout
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return l, false
	}
	l.lfanew = int(binary.LittleEndian.Uint32(b[0x3C:]))
	if l.lfanew+0x18 > len(b) {
		return l, false
	}
	l.coff = l.lfanew + 4
	l.nsections = int(binary.LittleEndian.Uint16(b[l.coff+2:]))
	l.optSize = int(binary.LittleEndian.Uint16(b[l.coff+16:]))
	l.opt = l.coff + 20
	if l.opt+2 > len(b) {
		return l, false
	}
	if binary.LittleEndian.Uint16(b[l.opt:]) == 0x20B {
		l.dirs = l.opt + 112
	} else {
		l.dirs = l.opt + 96
	}
	l.ndirs = 16
	l.sections = l.opt + l.optSize
	return l, true
}

// mutatePE applies one kind of damage to a driver image.
func mutatePE(r *rand.Rand, src []byte) ([]byte, string) {
	b := append([]byte(nil), src...)
	l, ok := parsePE(b)
	if !ok {
		flip(r, b, 0, len(b), 8)
		return b, "not a PE: 8 bit flips"
	}
	sec := func() int { return l.sections + 40*r.IntN(max(1, l.nsections)) }
	switch k := r.IntN(11); k {
	case 0: // DOS and COFF header fields
		fields := [][2]int{{0x3C, 4}, {l.coff, 2}, {l.coff + 2, 2}, {l.coff + 4, 4}, {l.coff + 8, 4}, {l.coff + 12, 4}, {l.coff + 16, 2}, {l.coff + 18, 2}}
		fl := fields[r.IntN(len(fields))]
		v := extreme(r)
		put(b, fl[0], fl[1], v)
		return b, fmt.Sprintf("COFF field %#x = %#x", fl[0]-l.lfanew, v)
	case 1: // optional header fields
		o := l.opt + 4*r.IntN(max(1, (l.dirs-l.opt)/4))
		v := extreme(r)
		put(b, o, 4, v)
		return b, fmt.Sprintf("optional header +%#x = %#x", o-l.opt, v)
	case 2: // a section header field
		s := sec()
		o := s + 8 + 4*r.IntN(8)
		v := extreme(r)
		put(b, o, 4, v)
		return b, fmt.Sprintf("section header +%#x = %#x", o-s, v)
	case 3, 4: // a data directory: import 1, resource 2, certificate 4, reloc 5, debug 6, IAT 12
		d := []int{1, 2, 4, 5, 6, 12, 0, 3, 9, 10}[r.IntN(10)]
		o := l.dirs + 8*d + 4*r.IntN(2)
		v := extreme(r)
		put(b, o, 4, v)
		return b, fmt.Sprintf("data directory %d +%d = %#x", d, (o-l.dirs)%8, v)
	case 5: // the bytes a directory points at: imports, resources, certificates
		d := []int{1, 2, 4}[r.IntN(3)]
		if l.dirs+8*d+8 > len(b) {
			return b[:len(b)/2], "halved"
		}
		rva := int(binary.LittleEndian.Uint32(b[l.dirs+8*d:]))
		size := int(binary.LittleEndian.Uint32(b[l.dirs+8*d+4:]))
		off := rva
		if d != 4 { // the certificate table's "RVA" is a file offset
			off = rvaToOff(b, l, rva)
		}
		if off <= 0 || off >= len(b) || size == 0 {
			flip(r, b, 0, len(b), 8)
			return b, fmt.Sprintf("directory %d empty: 8 bit flips", d)
		}
		n := 1 + r.IntN(32)
		flip(r, b, off, off+min(size, 4096), n)
		if r.IntN(2) == 0 { // and a size or offset inside it at an extreme
			put(b, off+4*r.IntN(max(1, min(size, 256)/4)), 4, extreme(r))
		}
		return b, fmt.Sprintf("directory %d: %d bit flips", d, n)
	case 6: // truncation
		cut := r.IntN(len(b))
		return b[:cut], fmt.Sprintf("truncated to %d bytes", cut)
	case 7: // section contents: code and data
		s := sec()
		if s+40 > len(b) {
			return b[:len(b)/2], "halved"
		}
		off := int(binary.LittleEndian.Uint32(b[s+20:]))
		size := int(binary.LittleEndian.Uint32(b[s+16:]))
		n := 1 + r.IntN(64)
		flip(r, b, off, off+size, n)
		return b, fmt.Sprintf("%d bit flips in section %d", n, (s-l.sections)/40)
	case 8: // bit flips in the headers
		n := 1 + r.IntN(16)
		flip(r, b, 0, min(len(b), l.sections+40*l.nsections), n)
		return b, fmt.Sprintf("%d bit flips in the headers", n)
	case 9: // overlapping or huge sections
		s := sec()
		put(b, s+12, 4, 0x1000)                 // VirtualAddress
		put(b, s+8, 4, extreme(r))              // VirtualSize
		put(b, s+20, 4, uint64(r.IntN(len(b)))) // PointerToRawData
		return b, "section overlapping, huge virtual size"
	default: // NumberOfSections and SizeOfOptionalHeader lie
		put(b, l.coff+2, 2, []uint64{0, 96, 0xFFFF}[r.IntN(3)])
		put(b, l.coff+16, 2, []uint64{0, 0xE0, 0xF0, 0xFFFF}[r.IntN(4)])
		return b, "section count and optional header size lie"
	}
}

func rvaToOff(b []byte, l peLayout, rva int) int {
	for i := 0; i < l.nsections && l.sections+40*i+40 <= len(b); i++ {
		s := l.sections + 40*i
		va := int(binary.LittleEndian.Uint32(b[s+12:]))
		vs := int(binary.LittleEndian.Uint32(b[s+8:]))
		raw := int(binary.LittleEndian.Uint32(b[s+20:]))
		if rva >= va && rva < va+max(vs, 1) {
			return raw + rva - va
		}
	}
	return -1
}

type job struct {
	kind, src, what string
	n               int
	data            []byte
}

// A result is one command run on one mutant.
type result struct {
	args    []string
	status  int
	elapsed time.Duration
	maxRSS  int64
	stderr  string
	problem string // "" when the run was right
	path    string
}

// Documented exit statuses per command.
var allowed = map[string][]int{
	"info": {0, 2}, "poolused": {0, 2, 3}, "report": {0, 2, 3}, "tag": {0, 1, 2},
}

func runJob(o options, j job) []result {
	dir, err := os.MkdirTemp(o.work, j.kind)
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	var cmds [][]string
	var path string
	if j.kind == "dump" {
		path = filepath.Join(dir, fmt.Sprintf("m%05d.dmp", j.n))
		cmds = [][]string{{"info", path}, {"report", path, "--no-dump-images"}}
		if j.n%4 == 0 {
			cmds = append(cmds, []string{"report", path}, []string{"poolused", path})
		}
	} else {
		drv := filepath.Join(dir, "drivers")
		if err := os.Mkdir(drv, 0o755); err != nil {
			log.Fatal(err)
		}
		path = filepath.Join(drv, fmt.Sprintf("m%05d.sys", j.n))
		cmds = [][]string{{"tag", "ISil", "I100", "CtFl", "Tst1", "Wrp1", "--drivers", drv}}
		if j.n%8 == 0 {
			cmds = append(cmds, []string{"report", "testdata/win2003-x86-isil.dmp", "--drivers", drv, "-o", filepath.Join(dir, "r.txt")})
		}
	}
	if err := os.WriteFile(path, j.data, 0o644); err != nil {
		log.Fatal(err)
	}
	var out []result
	for _, args := range cmds {
		res := runOne(o, args)
		res.path = path
		res.problem = judge(res, args[0], path, j.kind, o.memLimit)
		if res.problem != "" && o.keep != "" {
			keep := filepath.Join(o.keep, fmt.Sprintf("%s-%05d-%s%s", j.kind, j.n, strings.ReplaceAll(res.problem, " ", "_"), filepath.Ext(path)))
			err := os.WriteFile(keep, j.data, 0o644)
			if err == nil {
				err = os.WriteFile(keep+".txt", []byte(fmt.Sprintf("source %s\nmutation %s\ncommand %v\nstatus %d\n%s", j.src, j.what, args, res.status, res.stderr)), 0o644)
			}
			if err != nil {
				log.Fatalf("keeping a failing mutant: %v", err)
			}
		}
		out = append(out, res)
	}
	return out
}

func runOne(o options, args []string) result {
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	full := append([]string{fmt.Sprintf("--as=%d", o.hardLimit), "--", o.bin}, args...)
	cmd := exec.CommandContext(ctx, "prlimit", full...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = nil
	start := time.Now()
	err := cmd.Run()
	res := result{args: args, elapsed: time.Since(start), stderr: stderr.String(), status: cmd.ProcessState.ExitCode()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.maxRSS = ru.Maxrss << 10
	}
	if ctx.Err() != nil {
		res.status = -2 // killed by the timeout
	} else if err != nil && res.status < 0 {
		res.status = -1
	}
	return res
}

// judge names what is wrong with a run, or "". memLimit is the -mem
// limit: a peak RSS above it is a failure.
func judge(res result, cmd, path, kind string, memLimit int64) string {
	s := res.stderr
	switch {
	case res.status == -2:
		return "hang"
	case strings.Contains(s, "out of memory") || res.maxRSS > memLimit:
		return "memory over limit"
	case res.status == 70, strings.Contains(s, "panic:"), strings.Contains(s, "fatal error:"), strings.Contains(s, "goroutine "), res.status == -1:
		return "panic"
	}
	ok := false
	for _, st := range allowed[cmd] {
		ok = ok || st == res.status
	}
	if !ok {
		return "wrong exit status"
	}
	if res.status == 2 {
		if kind == "dump" && !strings.Contains(s, path) {
			return "error not naming the file"
		}
		if strings.Count(strings.TrimSpace(s), "\n") > 0 {
			return "error over several lines"
		}
	}
	return ""
}

type stats struct {
	mu       sync.Mutex
	runs     map[string]int
	mutants  map[string]int
	problems map[string]map[string]int // kind -> problem -> count
	examples map[string][]string
	peakRSS  map[string]int64
	slowest  map[string]time.Duration
	total    map[string]time.Duration
	status   map[string]map[int]int
}

func newStats() *stats {
	return &stats{runs: map[string]int{}, mutants: map[string]int{}, problems: map[string]map[string]int{},
		examples: map[string][]string{}, peakRSS: map[string]int64{}, slowest: map[string]time.Duration{},
		total: map[string]time.Duration{}, status: map[string]map[int]int{}}
}

func (s *stats) add(j job, rs []result) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mutants[j.kind]++
	if s.problems[j.kind] == nil {
		s.problems[j.kind] = map[string]int{}
		s.status[j.kind] = map[int]int{}
	}
	for _, r := range rs {
		s.runs[j.kind]++
		s.status[j.kind][r.status]++
		s.peakRSS[j.kind] = max(s.peakRSS[j.kind], r.maxRSS)
		s.slowest[j.kind] = max(s.slowest[j.kind], r.elapsed)
		s.total[j.kind] += r.elapsed
		if r.problem != "" {
			s.problems[j.kind][r.problem]++
			if len(s.examples[r.problem]) < 5 {
				s.examples[r.problem] = append(s.examples[r.problem], fmt.Sprintf("%s %d (%s; %s): %v -> %d %s",
					j.kind, j.n, j.src, j.what, r.args[0], r.status, firstLine(r.stderr)))
			}
		}
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

var problemKinds = []string{"panic", "hang", "memory over limit", "wrong exit status", "error not naming the file", "error over several lines"}

func (s *stats) print(w *os.File, elapsed time.Duration) {
	for _, k := range []string{"dump", "driver"} {
		if s.mutants[k] == 0 {
			continue
		}
		fmt.Fprintf(w, "%s mutants: %d, runs: %d, peak RSS %.1f MiB, slowest run %v, mean run %v\n", k, s.mutants[k], s.runs[k],
			float64(s.peakRSS[k])/(1<<20), s.slowest[k].Round(time.Millisecond), (s.total[k] / time.Duration(s.runs[k])).Round(time.Millisecond))
		var sts []int
		for st := range s.status[k] {
			sts = append(sts, st)
		}
		sort.Ints(sts)
		var parts []string
		for _, st := range sts {
			parts = append(parts, fmt.Sprintf("%d: %d", st, s.status[k][st]))
		}
		fmt.Fprintf(w, "  exit statuses  %s\n", strings.Join(parts, ", "))
		for _, p := range problemKinds {
			fmt.Fprintf(w, "  %-26s %d\n", p, s.problems[k][p])
		}
	}
	for _, p := range problemKinds {
		for _, e := range s.examples[p] {
			fmt.Fprintf(w, "  e.g. %s: %s\n", p, e)
		}
	}
	fmt.Fprintf(w, "wall time %v\n", elapsed.Round(time.Second))
}

func (s *stats) bad() bool {
	for _, m := range s.problems {
		for _, n := range m {
			if n > 0 {
				return true
			}
		}
	}
	return false
}
