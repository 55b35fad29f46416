package dumpfile_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// archCase is one paging mode with addresses free for test mappings.
type archCase struct {
	arch   dumpfile.Arch
	build  uint32
	base   uint64   // start of a free kernel region
	larges []uint64 // large page sizes the mode has
}

var archCases = []archCase{
	{dumpfile.ArchX86, 2600, 0xA0000000, []uint64{4 << 20}},
	{dumpfile.ArchX86PAE, 3790, 0xA0000000, []uint64{2 << 20}},
	{dumpfile.ArchAMD64, 19041, 0xFFFFD00000000000, []uint64{2 << 20, 1 << 30}},
	{dumpfile.ArchARM64, 22000, 0xFFFFD00000000000, []uint64{2 << 20, 1 << 30}},
}

var allTypes = []dumpfile.DumpType{
	dumpfile.TypeFull, dumpfile.TypeSummary, dumpfile.TypeBitmapFull, dumpfile.TypeBitmapKernel,
	dumpfile.TypeRDMPKernel, dumpfile.TypeRDMPActive, dumpfile.TypeRDMPFull,
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

// plant is what a test dump holds at known places.
type plant struct {
	cross, large, trans, pagedOut, absent, unmapped uint64
	crossData, largeData, transData                 []byte
	largeAt                                         []uint64
	module                                          uint64
}

func buildPlanted(t testing.TB, c archCase, typ dumpfile.DumpType, mod func(*dumptest.Config)) (*dumptest.Builder, plant) {
	t.Helper()
	cfg := dumptest.Config{
		Arch: c.arch, Build: c.build, CPUs: 2, Type: typ,
		BugCheck: 0x41, BugCheckParams: [4]uint64{0x1234, 2, 3, 4},
		SystemTime: time.Date(2005, 9, 2, 18, 58, 57, 0, time.UTC), Uptime: 51*time.Hour + 3*time.Minute,
		Comment: "generated for tests", ProductType: 3, Seed: 7,
		UnalignedFirstPage: typ == dumpfile.TypeBitmapFull || typ == dumpfile.TypeSummary,
	}
	if mod != nil {
		mod(&cfg)
	}
	b := dumptest.New(cfg)
	p := plant{
		cross:     c.base + 0x10800, // starts mid-page, spans three pages
		crossData: pattern(0x1C00, 1),
		trans:     c.base + 0x21000,
		transData: pattern(0x1000, 2),
		pagedOut:  c.base + 0x22000,
		absent:    c.base + 0x23000,
		unmapped:  c.base + 0x40000,
	}
	b.Map(p.cross, p.crossData)
	b.MapTransition(p.trans, p.transData)
	b.MapPagedOut(p.pagedOut)
	b.MapAbsent(p.absent)
	for i, size := range c.larges {
		va := (c.base + 0x40000000 + uint64(i)*0x40000000 + size - 1) &^ (size - 1)
		b.MapLarge(va, size)
		p.largeAt = append(p.largeAt, va)
	}
	// Data in the last large page, across a 4 KiB boundary deep inside it.
	last := p.largeAt[len(p.largeAt)-1]
	p.large = last + c.larges[len(c.larges)-1] - 0x3800
	p.largeData = pattern(0x1800, 3)
	b.Write(p.large, p.largeData)
	p.module = b.AddModule(dumptest.Module{Name: "isil.sys", TimeDateStamp: 0x41234567, CheckSum: 0xBEEF, Size: 0x6000})
	b.SetKDBG(dumptest.KDBGMmSessionBase, c.base+0x8000)
	if c.build >= 14393 { // PteBase exists from Windows 10 RS1 on
		b.SetKDBG(dumptest.KDBGPteBase, c.base+0x7000)
	}
	return b, p
}

func openBuilder(t testing.TB, b *dumptest.Builder, name string) *dumpfile.File {
	t.Helper()
	raw, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	f, err := dumpfile.NewFile(name, dumpfile.Bytes(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestContainersAndPaging(t *testing.T) {
	for _, c := range archCases {
		for _, typ := range allTypes {
			if typ >= dumpfile.TypeRDMPKernel && !c.arch.Is64() {
				continue // RDMP dumps are 64-bit only
			}
			t.Run(fmt.Sprintf("%v/type%d", c.arch, typ), func(t *testing.T) {
				b, p := buildPlanted(t, c, typ, nil)
				f := openBuilder(t, b, "planted.dmp")
				checkHeader(t, f, c, typ)
				checkReads(t, f, p)
				checkKDBGAndModules(t, f, b, p)
			})
		}
	}
}

func checkHeader(t *testing.T, f *dumpfile.File, c archCase, typ dumpfile.DumpType) {
	t.Helper()
	if f.Arch() != c.arch || f.MinorVersion != c.build || f.NumberProcessors != 2 || f.DumpType != typ {
		t.Errorf("arch %v build %d cpus %d type %v", f.Arch(), f.MinorVersion, f.NumberProcessors, f.DumpType)
	}
	if f.BugCheckCode != 0x41 || f.BugCheckParameters != [4]uint64{0x1234, 2, 3, 4} {
		t.Errorf("bugcheck %#x %#x", f.BugCheckCode, f.BugCheckParameters)
	}
	if !f.SystemTime.Equal(time.Date(2005, 9, 2, 18, 58, 57, 0, time.UTC)) || f.SystemUpTime != 51*time.Hour+3*time.Minute {
		t.Errorf("time %v uptime %v", f.SystemTime, f.SystemUpTime)
	}
	if f.Comment != "generated for tests" || f.ProductType != 3 {
		t.Errorf("comment %q product type %d", f.Comment, f.ProductType)
	}
	if f.PresentPages() == 0 || f.DescribedPages() < f.PresentPages() {
		t.Errorf("present %d described %d", f.PresentPages(), f.DescribedPages())
	}
	if len(f.Warnings) != 0 {
		t.Errorf("warnings on a sound dump: %q", f.Warnings)
	}
}

func checkReads(t *testing.T, f *dumpfile.File, p plant) {
	t.Helper()
	got := make([]byte, len(p.crossData))
	if _, err := f.ReadVirtual(p.cross, got); err != nil || !bytes.Equal(got, p.crossData) {
		t.Errorf("page-crossing read: %v, equal %v", err, bytes.Equal(got, p.crossData))
	}
	got = make([]byte, len(p.largeData))
	if _, err := f.ReadVirtual(p.large, got); err != nil || !bytes.Equal(got, p.largeData) {
		t.Errorf("large page read at %#x: %v", p.large, err)
	}
	got = make([]byte, len(p.transData))
	if _, err := f.ReadVirtual(p.trans, got); err != nil || !bytes.Equal(got, p.transData) {
		t.Errorf("transition page read: %v", err)
	}
	for _, e := range []struct {
		name string
		va   uint64
		want error
	}{
		{"paged out", p.pagedOut, dumpfile.ErrNotMapped},
		{"absent", p.absent, dumpfile.ErrPageAbsent},
		{"unmapped", p.unmapped, dumpfile.ErrNotMapped},
		{"large page, unwritten part", p.largeAt[0], dumpfile.ErrPageAbsent},
	} {
		_, err := f.ReadVirtual(e.va, make([]byte, 16))
		if !errors.Is(err, e.want) {
			t.Errorf("%s %#x: got %v, want %v", e.name, e.va, err, e.want)
		}
		var ae *dumpfile.AddressError
		if !errors.As(err, &ae) || ae.Addr != e.va {
			t.Errorf("%s: error %v does not name the address", e.name, err)
		}
	}
	// A read that runs from readable memory into a paged-out page returns
	// what it read and says where it stopped.
	n, err := f.ReadVirtual(p.trans+0x800, make([]byte, 0x1000))
	if n != 0x800 || !errors.Is(err, dumpfile.ErrNotMapped) {
		t.Errorf("read into paged-out page: n=%#x err=%v", n, err)
	}
}

func checkKDBGAndModules(t *testing.T, f *dumpfile.File, b *dumptest.Builder, p plant) {
	t.Helper()
	k, err := f.KDBG()
	if err != nil {
		t.Fatal(err)
	}
	if k.Source != "header" || k.Encoded || k.KernBase() != b.KernBase() || k.Addr != b.KDBGAddress() {
		t.Errorf("KDBG source %q encoded %v kernbase %#x addr %#x", k.Source, k.Encoded, k.KernBase(), k.Addr)
	}
	base := p.cross - 0x10800
	if k.MmSessionBase() != base+0x8000 || k.PsActiveProcessHead() != f.PsActiveProcessHead ||
		(f.MinorVersion >= 14393) != (k.PteBase() == base+0x7000) {
		t.Errorf("KDBG PteBase %#x MmSessionBase %#x PsActiveProcessHead %#x", k.PteBase(), k.MmSessionBase(), k.PsActiveProcessHead())
	}
	if k.PaeEnabled() != (f.Arch() == dumpfile.ArchX86PAE) {
		t.Errorf("KDBG PaeEnabled %v on %v", k.PaeEnabled(), f.Arch())
	}
	mods, err := f.Modules()
	if err != nil || len(mods) != 2 {
		t.Fatalf("modules %d, %v", len(mods), err)
	}
	if mods[0].Base != b.KernBase() || !strings.HasPrefix(strings.ToLower(mods[0].Name), "nt") {
		t.Errorf("kernel module %+v", mods[0])
	}
	m := mods[1]
	if m.Name != "isil.sys" || m.Base != p.module || m.Size != 0x6000 || m.HeaderErr != nil ||
		m.TimeDateStamp != 0x41234567 || m.CheckSum != 0xBEEF || m.SizeOfImage != 0x6000 {
		t.Errorf("module %+v", m)
	}
	if !strings.HasSuffix(m.Path, `\isil.sys`) {
		t.Errorf("module path %q", m.Path)
	}
}

func TestEncodedKDBG(t *testing.T) {
	c := archCases[2]
	b, _ := buildPlanted(t, c, dumpfile.TypeBitmapFull, func(cfg *dumptest.Config) {
		cfg.EncodeKDBG, cfg.PlainKDBGCopy = true, true
	})
	f := openBuilder(t, b, "encoded.dmp")
	k, err := f.KDBG()
	if err != nil {
		t.Fatal(err)
	}
	if k.Source != "decoded" || !k.Encoded || k.KernBase() != b.KernBase() || k.PsLoadedModuleList() != f.PsLoadedModuleList {
		t.Errorf("decoded KDBG: source %q kernbase %#x", k.Source, k.KernBase())
	}
	if mods, err := f.Modules(); err != nil || len(mods) != 2 {
		t.Errorf("modules after decoding: %d %v", len(mods), err)
	}
}

func TestKDBGPhysicalScan(t *testing.T) {
	// The header names no KDBG: a plain block must be found in physical memory.
	for _, c := range archCases {
		t.Run(c.arch.String(), func(t *testing.T) {
			b, _ := buildPlanted(t, c, dumpfile.TypeBitmapFull, nil)
			raw, err := b.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			off := 0x60
			if c.arch.Is64() {
				off = 0x80
			}
			copy(raw[off:off+c.arch.PointerSize()], make([]byte, 8))
			f, err := dumpfile.NewFile("nokdbg.dmp", dumpfile.Bytes(raw), int64(len(raw)))
			if err != nil {
				t.Fatal(err)
			}
			k, err := f.KDBG()
			if err != nil {
				t.Fatal(err)
			}
			if k.Source != "physical scan" || k.KernBase() != b.KernBase() {
				t.Errorf("source %q kernbase %#x", k.Source, k.KernBase())
			}
		})
	}
}

func TestDTBFlagsCleared(t *testing.T) {
	b, p := buildPlanted(t, archCases[2], dumpfile.TypeBitmapFull, func(cfg *dumptest.Config) { cfg.DTBFlags = 0x2 })
	f := openBuilder(t, b, "pcid.dmp")
	if f.DirectoryTableBase&0xFFF != 0x2 || f.DTB()&0xFFF != 0 {
		t.Fatalf("DirectoryTableBase %#x DTB %#x", f.DirectoryTableBase, f.DTB())
	}
	checkReads(t, f, p)
}

func TestLA57Refused(t *testing.T) {
	b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Type: dumpfile.TypeBitmapFull, LA57: true})
	f := openBuilder(t, b, "la57.dmp")
	if !hasWarning(f, "LA57") {
		t.Errorf("no LA57 warning: %q", f.Warnings)
	}
	if _, err := f.ReadVirtual(f.KdDebuggerDataBlock, make([]byte, 8)); !errors.Is(err, dumpfile.ErrLA57) {
		t.Errorf("read: %v, want ErrLA57", err)
	}
}

func TestEncryptedDump(t *testing.T) {
	b, p := buildPlanted(t, archCases[2], dumpfile.TypeBitmapFull, func(cfg *dumptest.Config) { cfg.Attributes = dumpfile.AttrEncryptedDumpData })
	f := openBuilder(t, b, "enc.dmp")
	if !hasWarning(f, "encrypted") {
		t.Errorf("warnings %q", f.Warnings)
	}
	if _, err := f.ReadVirtual(p.cross, make([]byte, 8)); !errors.Is(err, dumpfile.ErrEncrypted) {
		t.Errorf("read: %v, want ErrEncrypted", err)
	}
}

func TestPlausibleCPUs(t *testing.T) {
	for _, tt := range []struct {
		n    uint32
		want int
		ok   bool
	}{{0, 0, false}, {1, 1, true}, {64, 64, true}, {2048, 2048, true}, {2049, 0, false}, {0xFFFFFFFF, 0, false}} {
		if got, ok := dumpfile.PlausibleCPUs(tt.n); got != tt.want || ok != tt.ok {
			t.Errorf("PlausibleCPUs(%d) = %d, %v", tt.n, got, ok)
		}
	}
}
