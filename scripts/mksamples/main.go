// Command mksamples writes the sample dumps and driver folders committed
// in testdata/. Run it from the repository root:
//
//	go run ./scripts/mksamples
//
// Everything it writes follows from this file (fixed seeds), so the
// dumps are reproducible byte for byte. The signed driver files are not:
// their Authenticode signatures carry a fresh key and signing time.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/pooltag"
)

func main() {
	out := flag.String("o", "testdata", "output folder")
	flag.Parse()
	for _, s := range samples() {
		if err := s.write(*out); err != nil {
			log.Fatalf("%s: %v", s.name, err)
		}
		fmt.Println("wrote", filepath.Join(*out, s.name))
	}
}

// driver is a synthetic driver image placed both in the dump (loaded)
// and, when folder is set, in a drivers folder.
type driver struct {
	name   string
	folder bool
	sign   string // signer CN for a self-signed Authenticode signature; "": unsigned
	d      petest.Driver
}

type sample struct {
	name     string // dump file name
	drivers  string // drivers folder name under testdata
	cfg      dumptest.Config
	scenario pooltest.Scenario
	mods     []driver
	// pagedOut leaves the second page of this module's image paged out,
	// as memory pressure does to drivers' pageable sections.
	pagedOut string
	// sessionless are the processes outside any session, after System;
	// sessions are the Terminal Server sessions and their processes.
	sessionless []string
	sessions    []pooltest.SessionSpec
}

func ver(company, desc, product, orig string, v [4]uint16) *petest.Version {
	return &petest.Version{CompanyName: company, FileDescription: desc, ProductName: product,
		OriginalFilename: orig, LegalCopyright: "Copyright (c) " + company, FileVersion: v, ProductVersion: v}
}

func tags(s ...string) []uint32 {
	out := make([]uint32, len(s))
	for i, t := range s {
		out[i] = petest.Tag(t)
	}
	return out
}

// poolmon is one row of the `poolmon -b` screen of the IIS 6
// Connections_Refused case (../shared/realdata/snapshots): Allocs, Frees
// and Bytes since boot.
type poolmon struct {
	tag                  string
	paged                bool
	allocs, frees, bytes uint64
}

// split spreads a tag's counters over cpus tables the way the kernel
// does: allocations and frees land on whichever CPU runs, so a table can
// hold more frees than allocations; only the sum is the truth.
func split(p poolmon, cpus int) pooltest.TagSpec {
	t := pooltest.TagSpec{Tag: pooltag.MustTag(p.tag), CPU: make([]pool.Usage, cpus)}
	var ra, rf, rb uint64
	for c := 0; c < cpus; c++ {
		a, f := p.allocs/uint64(cpus), p.frees/uint64(cpus)
		if c == 0 {
			a, f = p.allocs*6/10, p.frees*4/10 // CPU 0 allocates more, CPU 1 frees more
		}
		if c == cpus-1 {
			a, f = p.allocs-ra, p.frees-rf
		}
		// Bytes follow the calls: what this CPU allocated minus what it
		// freed, at the tag's average size; the last CPU takes the rest.
		b := uint64(0)
		if p.allocs > p.frees {
			avg := p.bytes / (p.allocs - p.frees)
			b = a*avg - f*avg
		}
		if c == cpus-1 {
			b = p.bytes - rb
		}
		ra, rf, rb = ra+a, rf+f, rb+b
		u := &t.CPU[c]
		if p.paged {
			u.PagedAllocs, u.PagedFrees, u.PagedBytes = a, f, b
		} else {
			u.NonPagedAllocs, u.NonPagedFrees, u.NonPagedBytes = a, f, b
		}
	}
	return t
}

// sessionTag is a paged session pool tag: allocations, frees and the
// average size of what is still allocated.
func sessionTag(tag string, allocs, frees, avg uint64) pool.Usage {
	return pool.Usage{Tag: pooltag.MustTag(tag), PagedAllocs: allocs, PagedFrees: frees, PagedBytes: (allocs - frees) * avg}
}

func specs(rows []poolmon, cpus int) []pooltest.TagSpec {
	out := make([]pooltest.TagSpec, len(rows))
	for i, r := range rows {
		out[i] = split(r, cpus)
	}
	return out
}

func samples() []sample {
	// The 2003 case: the poolmon screen's rows verbatim, then smaller
	// nonpaged tags up to the screen's "Pool N:109056K" and paged tags up
	// to "P:43740K".
	iis6 := []poolmon{
		{"ISil", false, 1408366, 1327427, 36678632},
		{"I100", false, 11048877, 10967968, 14886928},
		{"PcNw", false, 292427, 88967, 12203296},
		{"SavE", false, 1596066, 1595659, 11717016},
		{"IAM", false, 1946164, 1904725, 8519576},
		{"tdLL", false, 74748, 69830, 2672832},
		{"LSwi", false, 1, 0, 2576384},
		{"R200", false, 22, 1, 2297816},
		{"MmCm", false, 302, 48, 2236960},
		{"TCPt", false, 190486, 190462, 1392264},
		{"ULHP", false, 3127, 41, 1047216},
		{"PTrk", false, 999750, 996561, 956824},
		{"File", false, 9628160, 9623252, 750688},
		{"rg81", false, 6910, 5294, 603864},
		{"Pool", false, 6, 3, 602112},
		{"Devi", false, 680, 262, 558552},
		{"Thre", false, 417221, 416457, 476736},
		{"LSwr", false, 128, 0, 416768},
		{"Mm", false, 26, 2, 379880},
		{"AfdC", false, 21989, 19872, 338720},
		// below the screen's cut
		{"Irp", false, 8812311, 8811790, 331560},
		{"Even", false, 61230, 59310, 122880},
		{"ULCK", false, 40210, 39880, 84480},
		{"NDpp", false, 2, 0, 300000},
		{"Ntfr", false, 1320, 1280, 1150000},
		{"Vad", false, 881234, 871234, 1280000},
		{"MmSt", true, 120331, 118221, 14403584},
		{"CM35", true, 2, 0, 9437184},
		{"NtfF", true, 91022, 88012, 6931200},
		{"Toke", true, 112334, 111002, 4235264},
		{"Ntff", true, 80210, 77110, 3534848},
		{"IoNm", true, 2231901, 2230801, 2840832},
		{"Obtb", true, 3012, 2312, 1412000},
		{"Gh05", true, 1201, 1150, 1254400},
	}
	// Many small tags below the cut, as a real system has hundreds.
	for i, t := range []string{"LpcM", "Sema", "Port", "Key", "Mdl", "MmCa", "MmDb", "Ntfk", "NtfA", "Ntfn",
		"NtFc", "FMsl", "Sect", "Ntfi", "Io", "SeTl", "WmiR", "Nb03", "NbL2", "TCPc", "TCPe", "Ipng", "IPmt",
		"Ppcr", "Ntfd", "AfdE", "AfdR", "AfdB", "ObNm", "Wait", "Mutx"} {
		out := uint64(4000 + 37*i)
		iis6 = append(iis6, poolmon{t, false, out * 3, out * 2, 303836})
	}
	const cpus2003 = 2
	x86 := func(name string, company, desc string, v [4]uint16, alloc ...string) petest.Driver {
		return petest.Driver{Machine: petest.X86, AllocTags: tags(alloc...), TimeDateStamp: 0x42c4a000 + uint32(len(name)),
			Version: ver(company, desc, desc, name, v)}
	}
	x64 := func(name string, company, desc string, v [4]uint16, alloc ...string) petest.Driver {
		return petest.Driver{Machine: petest.X64, AllocTags: tags(alloc...), TimeDateStamp: 0x63f1a000 + uint32(len(name)),
			Version: ver(company, desc, desc, name, v)}
	}
	ms := "Microsoft Corporation"
	win11 := []pooltest.TagSpec{
		pooltest.Leak("CtFl", false, 2210431, 960, 88412933, 8),
		pooltest.Leak("smNp", false, 640, 4<<20, 12000, 8),
		pooltest.Leak("ConT", false, 301223, 1024, 9122001, 8),
		pooltest.Leak("EtwB", false, 412, 262144, 3120, 8),
		pooltest.Leak("File", false, 90233, 368, 512000332, 8),
		pooltest.Leak("Ntfx", false, 120111, 416, 23002311, 8),
		pooltest.Leak("NDnd", false, 2011, 8192, 40233, 8),
		pooltest.Leak("MmSt", true, 90121, 4096, 2300122, 8),
		pooltest.Leak("CM31", true, 120022, 2048, 401233, 8),
		pooltest.Leak("CtFn", true, 402211, 512, 90122, 8),
		pooltest.Leak("Toke", true, 21221, 1536, 9122301, 8),
		pooltest.Leak("NtFs", true, 33012, 1024, 4300122, 8),
	}
	return []sample{
		{
			name:    "win2003-x86-isil.dmp",
			drivers: "drivers-2003",
			cfg: dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 3790, CPUs: cpus2003, Type: dumpfile.TypeSummary,
				BugCheck: 0xE2, SystemTime: time.Date(2005, 9, 2, 18, 59, 3, 0, time.UTC),
				Uptime: 9*24*time.Hour + 7*time.Hour + 12*time.Minute, ProductType: 3, MemoryPages: 0x40000,
				Comment: "Dump forced with CrashOnCtrlScroll while HTTP.SYS refused connections", Seed: 2003,
				UnalignedFirstPage: true},
			scenario: pooltest.Scenario{TableSize: 2049, Tags: specs(iis6, cpus2003),
				NonPagedMax: 128 << 20, PagedMax: 0x15C00000},
			mods: []driver{
				{"isil.sys", true, "Intersil Corporation", x86("isil.sys", "Intersil Corporation", "Intersil PRISM Wireless LAN Miniport", [4]uint16{3, 1, 2, 0}, "ISil", "I100")},
				{"portcls.sys", true, "", x86("portcls.sys", ms, "Port Class (Class Driver for Port/Miniport Devices)", [4]uint16{5, 2, 3790, 1830}, "PcNw")},
				{"savrt.sys", true, "Symantec Corporation", x86("savrt.sys", "Symantec Corporation", "Symantec AntiVirus Auto-Protect", [4]uint16{10, 0, 2, 2000}, "SavE")},
				{"tcpip.sys", true, "", x86("tcpip.sys", ms, "TCP/IP Protocol Driver", [4]uint16{5, 2, 3790, 1830}, "TCPt")},
				{"http.sys", true, "", x86("http.sys", ms, "HTTP Protocol Stack", [4]uint16{5, 2, 3790, 1830}, "ULHP", "ULCK")},
				{"afd.sys", false, "", x86("afd.sys", ms, "Ancillary Function Driver for WinSock", [4]uint16{5, 2, 3790, 1830}, "AfdC")},
			},
			pagedOut: "portcls.sys",
			// Session 0 holds the services and IIS's worker process;
			// session 1 is an administrator's Remote Desktop logon. Their
			// session pool is win32k's and the desktop heaps' (GDI
			// surfaces Gh05, Gla* lookaside, Us* USER objects, Ttfd
			// fonts, Gcac glyph cache, GDrv driver data), a few MB at
			// most beside the nonpaged leak.
			sessionless: []string{"smss.exe"},
			sessions: []pooltest.SessionSpec{
				{ID: 0, Processes: []string{"csrss.exe", "winlogon.exe", "services.exe", "lsass.exe", "svchost.exe", "w3wp.exe"},
					Tags: []pool.Usage{
						sessionTag("Gh05", 8412, 8090, 3200),
						sessionTag("Gla5", 2210, 1980, 128),
						sessionTag("Gla@", 1502, 1377, 144),
						sessionTag("Usqm", 640, 598, 64),
						sessionTag("Uspi", 312, 290, 96),
						sessionTag("Ttfd", 1840, 1788, 4096),
						sessionTag("Gcac", 96, 88, 12288),
						sessionTag("GDrv", 24, 20, 8192),
					}},
				{ID: 1, Processes: []string{"csrss.exe", "winlogon.exe", "rdpclip.exe", "explorer.exe"},
					Tags: []pool.Usage{
						sessionTag("Gh05", 14210, 13790, 3400),
						sessionTag("Gla5", 5120, 4630, 128),
						sessionTag("Gla@", 3310, 3002, 144),
						sessionTag("Usqm", 1980, 1890, 64),
						sessionTag("Uspi", 904, 851, 96),
						sessionTag("Ttfd", 4022, 3941, 4096),
						sessionTag("Gcac", 210, 198, 12288),
						sessionTag("GDrv", 61, 55, 8192),
					}},
			},
		},
		{
			name:    "win11-x64-ctfl.dmp",
			drivers: "drivers-win11",
			cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 22621, CPUs: 8, Type: dumpfile.TypeBitmapFull,
				BugCheck: 0x19, BugCheckParams: [4]uint64{0x20, 0xffffc30f2a1b3000, 0xffffc30f2a1b3060, 0x4060004},
				SystemTime: time.Date(2026, 10, 14, 3, 12, 45, 0, time.UTC), Uptime: 23*24*time.Hour + 4*time.Hour,
				ProductType: 1, MemoryPages: 0x400000, UnalignedFirstPage: true, Seed: 22621},
			scenario: pooltest.Scenario{TableSize: 1025, Tags: win11, NonPagedMax: 16 << 30, PagedMax: 128 << 30},
			mods: []driver{
				{"contosoflt.sys", true, "Contoso Ltd.", x64("contosoflt.sys", "Contoso Ltd.", "Contoso File Activity Filter", [4]uint16{2, 4, 1, 0}, "CtFl", "CtFn")},
				{"rdyboost.sys", true, "", x64("rdyboost.sys", ms, "ReadyBoost Driver", [4]uint16{10, 0, 22621, 1}, "smNp")},
				{"tcpip.sys", false, "", x64("tcpip.sys", ms, "TCP/IP Driver", [4]uint16{10, 0, 22621, 2506}, "ConT")},
				{"ndis.sys", false, "", x64("ndis.sys", ms, "NDIS 6.20 driver", [4]uint16{10, 0, 22621, 2506}, "NDnd")},
			},
		},
	}
}

func (s sample) write(dir string) error {
	b := dumptest.New(s.cfg)
	if _, err := pooltest.Plant(b, s.cfg, s.scenario); err != nil {
		return err
	}
	for _, p := range s.sessionless {
		b.AddProcess(p)
	}
	if len(s.sessions) > 0 {
		if _, err := pooltest.PlantSessions(b, s.cfg, s.sessions); err != nil {
			return err
		}
	}
	var folder string
	if s.drivers != "" {
		folder = filepath.Join(dir, s.drivers)
		if err := os.MkdirAll(folder, 0o755); err != nil {
			return err
		}
	}
	tmp, err := os.MkdirTemp("", "mksamples")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, m := range s.mods {
		img, err := petest.Build(m.d)
		if err != nil {
			return fmt.Errorf("%s: %w", m.name, err)
		}
		// The dump holds the unsigned image: the loader never maps the
		// certificate table, and this keeps the dumps reproducible.
		file := img
		if m.sign != "" {
			if file, err = sign(tmp, m.sign, img); err != nil {
				return fmt.Errorf("signing %s: %w", m.name, err)
			}
		}
		// The loader binds the imports; INIT, freed after DriverEntry,
		// takes the import names with it, as in real dumps.
		mod := dumptest.Module{Name: m.name, Path: `\SystemRoot\system32\DRIVERS\` + m.name, Image: img, DiscardImports: true}
		if m.name == s.pagedOut {
			mod.PagedOut = []int{1}
		}
		b.AddModule(mod)
		if m.folder && folder != "" {
			if err := os.WriteFile(filepath.Join(folder, m.name), file, 0o644); err != nil {
				return err
			}
		}
	}
	return b.WriteFile(filepath.Join(dir, s.name))
}

// sign adds a self-signed Authenticode signature, when osslsigncode is
// installed; without it the driver stays unsigned and a note says so.
func sign(tmp, cn string, img []byte) ([]byte, error) {
	tool, err := exec.LookPath("osslsigncode")
	if err != nil {
		log.Printf("osslsigncode not found: %s left unsigned", cn)
		return img, nil
	}
	cert, key, err := petest.SelfSigned(tmp, cn)
	if err != nil {
		return nil, err
	}
	in, out := filepath.Join(tmp, cn+".in.sys"), filepath.Join(tmp, cn+".sys")
	if err := os.WriteFile(in, img, 0o644); err != nil {
		return nil, err
	}
	if err := petest.Sign(tool, cert, key, in, out); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}
