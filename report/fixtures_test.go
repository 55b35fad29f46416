package report

import (
	"time"

	"github.com/poolblame/poolblame/analysis"
)

// Hand-built reports for the renderer tests. Counts come from a real
// poolmon screen (Windows Server 2003 x86, IIS 6 refusing connections,
// ../shared/realdata/snapshots) and the derived fields are computed the
// way the model documents them, so each fixture is internally consistent.

const (
	kib = 1 << 10
	mib = 1 << 20
	gib = 1 << 30
)

// tagRow fills a TagRow's derived fields from the counters, the pool's
// tracked bytes and the uptime.
func tagRow(tag, pool string, allocs, frees, bytes, poolUsed uint64, upDays float64, cands ...Candidate) TagRow {
	out := int64(allocs) - int64(frees)
	r := TagRow{
		Tag: tag, Pool: pool, Outstanding: out, Allocs: allocs, Frees: frees, Bytes: bytes,
		Share:        float64(bytes) * 100 / float64(poolUsed),
		GrowthPerDay: float64(bytes) / upDays,
		Candidates:   cands,
	}
	if out > 0 {
		r.AvgSize = float64(bytes) / float64(out)
	}
	return r
}

// fixturePressure fills a PoolPressure's derived fields.
func fixturePressure(used, max uint64, source, documented string, upDays float64) PoolPressure {
	p := PoolPressure{Used: used, Max: max, MaxSource: source, Documented: documented,
		Percent: -1, DaysToExhaustion: -1, GrowthPerDay: float64(used) / upDays}
	if max > 0 {
		p.Percent = float64(used) * 100 / float64(max)
		if used >= max {
			p.DaysToExhaustion = 0
		} else {
			p.DaysToExhaustion = float64(max-used) / p.GrowthPerDay
		}
	}
	return p
}

// classicReport is the IIS 6 case: Server 2003 x86, 2 CPUs, a manual
// crash (0xE2) taken while HTTP.SYS refused connections, nonpaged pool
// at 109 MB of 128 MB, and isil.sys behind the two leading tags.
func classicReport() *Report {
	const up = 3*86400 + 7*3600 + 42*60 + 17 // seconds
	upDays := float64(up) / 86400
	npUsed := uint64(109 * mib)
	npMax := uint64(128 * mib)
	pgUsed := uint64(43740 * kib)

	isil := func(count int, routines ...string) Candidate {
		return Candidate{
			Name: "isil.sys", Path: `D:\case-20050614\drivers\isil.sys`, Source: analysis.FromFolder, Owner: analysis.OwnerThirdParty,
			Evidence: "call-site", Count: count, Routines: routines,
			Company: "Intersil Corporation", Description: "PRISM Wireless LAN miniport",
			Product: "PRISM 802.11g", Version: "3.1.2.0",
			Signature: "no embedded signature (may be catalog-signed)",
			SHA256:    "5f1a0c3e9b7d2a4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d",
			Machine:   "i386", TimeStamp: "2004-08-12 17:03:55 UTC", Loaded: true,
		}
	}
	portcls := Candidate{
		Name: "portcls.sys", Path: `D:\case-20050614\drivers\portcls.sys`, Source: analysis.FromFolder, Owner: analysis.OwnerMicrosoft,
		Evidence: "call-site", Count: 2, Routines: []string{"PcNewMiniportWaveCyclic"},
		Company: "Microsoft Corporation", Description: "Port Class (Class Driver for Port/Miniport Devices)",
		Product: "Microsoft® Windows® Operating System", Version: "5.2.3790.1830",
		Signature: "no embedded signature (may be catalog-signed)", Microsoft: true,
		Machine: "i386", TimeStamp: "2005-03-24 22:08:44 UTC", Loaded: true,
	}
	iam := Candidate{
		Name: "iamnet.sys", Path: "iamnet.sys", Source: analysis.FromDumpImage, Owner: analysis.OwnerThirdParty, Evidence: "immediate", Count: 1,
		Signature: "not examined: image read from the dump", Machine: "i386", Loaded: true,
		LoadedNote: "4 of 19 image pages paged out",
	}

	return &Report{
		SchemaVersion: SchemaVersion,
		Dump: Dump{
			File: "MEMORY.DMP", Size: 1073819648, Release: "Windows Server 2003", Build: 3790,
			Arch: "x86", CPUs: 2, DumpType: "full (run-based)", BugCheck: 0xE2,
			BugCheckName: "MANUALLY_INITIATED_CRASH", BugCheckParams: []uint64{0, 0, 0, 0},
			SystemTime:    time.Date(2005, 6, 14, 9, 31, 7, 0, time.UTC),
			UptimeSeconds: up, PhysicalBytes: 1048016 * kib, Modules: 112,
		},
		Pool: &Pool{
			NonPaged: fixturePressure(npUsed, npMax, "KDBG MmMaximumNonPagedPoolInBytes",
				"256 MB on x86 (128 MB with /3GB)", upDays),
			Paged: fixturePressure(pgUsed, 0x16400000, "KDBG MmSizeOfPagedPoolInBytes",
				"530 MB on x86 (about 160 MB with /3GB)", upDays),
			HTTPSys: &HTTPSys{FreeNonPaged: npMax - npUsed, Threshold: 20 * mib, Below: true},
			Tags:    412, PerCPU: 2, TableLayout: "x86 0x1C",
			Notes: []string{"Session pool is not included (WinDbg shows it with !poolused 8)."},
		},
		LeadingNonPaged: []TagRow{
			tagRow("ISil", "nonpaged", 1408366, 1327427, 36678632, npUsed, upDays,
				isil(7, "IsilAllocateRxDescriptor", "IsilIndicateReceive")),
			tagRow("I100", "nonpaged", 11048877, 10967968, 14886928, npUsed, upDays, isil(3, "IsilSendPackets")),
			tagRow("PcNw", "nonpaged", 292427, 88967, 12203296, npUsed, upDays, portcls),
			tagRow("SavE", "nonpaged", 1596066, 1595659, 11717016, npUsed, upDays),
			tagRow("IAM ", "nonpaged", 1946164, 1904725, 8519576, npUsed, upDays, iam),
		},
		LeadingPaged: []TagRow{
			tagRow("MmSt", "paged", 52311, 44760, 9916416, pgUsed, upDays, Candidate{
				Name: "ntoskrnl.exe", Source: analysis.FromPooltag, Evidence: "pooltag",
				Microsoft: true, Loaded: true,
			}),
			tagRow("CM35", "paged", 2114, 1650, 4751360, pgUsed, upDays),
		},
		Verdict: Verdict{
			Sentences: []string{
				"isil.sys (Intersil Corporation, third party, loaded) allocates with tags ISil and I100, " +
					"which hold 49.2 MiB of nonpaged pool between them (45.1% of all tracked nonpaged bytes) " +
					"in 161,848 outstanding allocations.",
				"Nonpaged pool is 85.2% full and free nonpaged pool is below HTTP.SYS's 20 MiB floor, " +
					"which explains IIS refusing connections.",
			},
			Confidence: analysis.High,
			Culprits:   []Culprit{{Driver: "isil.sys", Tags: []string{"ISil", "I100"}, Bytes: 36678632 + 14886928, ThirdParty: true, Owner: analysis.OwnerThirdParty}},
			Raise: []string{
				"A second dump or poolmon snapshot an hour later: ISil and I100 still growing would prove a leak rather than a busy period.",
			},
		},
		Sources: Sources{
			DriverFolders: []string{`D:\case-20050614\drivers`}, FilesIndexed: 287,
			DumpImagesScanned: 112, DumpPagesMissing: 38,
			Pooltag: `C:\Program Files (x86)\Windows Kits\10\Debuggers\x64\triage\pooltag.txt`,
		},
		Warnings: []string{
			"38 pages of driver images in the dump were paged out: evidence from those images may be incomplete.",
		},
	}
}

// win11Report is a live kernel dump of Windows 11 x64 where only one
// processor's tracker table was found and the nonpaged maximum is
// unknown; a third-party filter driver leads both pools. Text fields
// carry characters each form must escape.
func win11Report() *Report {
	const up = 41*86400 + 5*3600 + 3*60 + 9
	upDays := float64(up) / 86400
	npUsed := uint64(2147483648 + 305419896)
	pgUsed := uint64(9*gib + 845*mib)

	cnts := func(count int) Candidate {
		return Candidate{
			Name: "cntsflt.sys", Path: "/cases/4711/drivers/cntsflt.sys", Source: analysis.FromFolder, Owner: analysis.OwnerThirdParty,
			Evidence: "call-site", Count: count, Routines: []string{"CnFltPreCreate", "CnFltAllocContext"},
			Company: "Contoso & Partners <Storage>", Description: "Contoso | file system filter",
			Version: "10.4.22.7", Signer: "Contoso & Partners",
			Signature: "signed by Contoso & Partners, hash matches",
			SHA256:    "0d3f7a9c1e5b2d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d1f3a5c7e9b0d2f",
			Machine:   "AMD64", TimeStamp: "2023-11-02 08:15:40 UTC", Loaded: true,
		}
	}
	ndis := Candidate{
		Name: "ndis.sys", Path: "/cases/4711/drivers/ndis.sys", Source: analysis.FromFolder, Owner: analysis.OwnerMicrosoft, Evidence: "bytes", Count: 1,
		Company: "Microsoft Corporation", Version: "10.0.22621.2506",
		Signature: "no embedded signature (may be catalog-signed)", Microsoft: true,
		Machine: "AMD64", Loaded: true,
	}
	nt := Candidate{
		Name: "ntoskrnl.exe", Path: "ntoskrnl.exe", Source: analysis.FromDumpImage, Owner: analysis.OwnerMicrosoft, Evidence: "call-site", Count: 12,
		Company: "Microsoft Corporation", Version: "10.0.22621.2506", Signature: "not examined: image read from the dump",
		Microsoft: true, Machine: "AMD64", Loaded: true,
	}
	rowNP := func(tag string, a, f, b uint64, c ...Candidate) TagRow {
		r := tagRow(tag, "nonpaged", a, f, b, npUsed, upDays, c...)
		return r
	}
	rowPG := func(tag string, a, f, b uint64, c ...Candidate) TagRow {
		return tagRow(tag, "paged", a, f, b, pgUsed, upDays, c...)
	}
	cnfn := rowNP("CnFn", 88123456, 81234567, 1102004224, cnts(4), ndis)
	cnfn.Description, cnfn.PooltagBinary = "Contoso | filter <context> & stream", "cntsflt.sys"
	etw := rowNP("EtwB", 4211, 3011, 201326592, nt)
	etw.Description, etw.PooltagBinary = "Etw Buffer", "nt!etw"

	return &Report{
		SchemaVersion: SchemaVersion,
		Dump: Dump{
			File: "LiveKernelReports/WATCHDOG-20240309-1408.dmp", Size: 3435973836, Release: "Windows 11 23H2",
			Build: 22631, Arch: "x64", CPUs: 8, DumpType: "bitmap (live kernel)", BugCheck: 0x161,
			BugCheckName: "LIVE_SYSTEM_DUMP", BugCheckParams: []uint64{0x1, 0xFFFFC30C8A2E3080, 0, 0},
			SystemTime:    time.Date(2024, 3, 9, 14, 8, 31, 0, time.UTC),
			UptimeSeconds: up, PhysicalBytes: 32 * gib, Modules: 231,
		},
		Pool: &Pool{
			NonPaged: fixturePressure(npUsed, 0, "not found: MmMaximumNonPagedPoolInBytes is not kept on this build",
				"RAM or 16 TB, whichever is less", upDays),
			Paged: fixturePressure(pgUsed, 128*gib, "KDBG MmSizeOfPagedPoolInBytes", "128 GB on x64 up to 8, then 15.5 TB", upDays),
			Tags:  3127, OneCPUOnly: true, PerCPU: 1, Partial: true, TableLayout: "x64 0x50 (22000+)",
			Missing: []string{"tracker tables of CPUs 1-7 (ExPoolTagTables not found)", "PoolTrackTableExpansion (unreadable page)"},
		},
		LeadingNonPaged: []TagRow{
			cnfn,
			etw,
			rowNP("NDnd", 9912, 9001, 120586240, ndis),
		},
		LeadingPaged: []TagRow{
			rowPG("CnFs", 12000111, 11000222, 3221225472, cnts(2)),
			rowPG("MmSt", 901221, 880331, 805306368, nt),
			rowPG("Toke", 221002, 219880, 7340032, nt),
			rowPG("Ntf0", 55012, 41023, 4194304),
		},
		Verdict: Verdict{
			Sentences: []string{
				"cntsflt.sys (Contoso & Partners <Storage>, third party, loaded) leads both pools: CnFn holds 1.0 GiB of nonpaged pool and CnFs 3.0 GiB of paged pool.",
				"Only one processor's tracker table was read, so the true totals are larger.",
			},
			Confidence: analysis.Medium,
			Culprits: []Culprit{
				{Driver: "cntsflt.sys", Tags: []string{"CnFn", "CnFs"}, Bytes: 1102004224 + 3221225472, ThirdParty: true, Owner: analysis.OwnerThirdParty},
			},
			Raise: []string{
				"Symbols (ntkrnlmp.pdb) or a dump from a build where ExPoolTagTables is found, to sum all 8 processors' tables.",
				"The vendor's current cntsflt.sys to compare with 10.4.22.7.",
			},
		},
		Sources: Sources{
			DriverFolders: []string{"/cases/4711/drivers", "/cases/4711/System32/drivers"}, FilesIndexed: 1433,
			DumpImagesScanned: 231, Pooltag: "/opt/debuggers/triage/pooltag.txt",
		},
		Warnings: []string{
			"ndis.sys matched CnFn only as raw bytes in a data section: likely a coincidence.",
			"Tag | names with pipes | and <angle brackets> must survive every form.",
		},
	}
}

// triageReport is a minidump: header facts and modules, no pool memory.
func triageReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		Dump: Dump{
			File: "triage_x64.dmp", Size: 1118208, Release: "Windows 10 2004", Build: 19041, Arch: "x64",
			CPUs: 16, DumpType: "triage (minidump)", BugCheck: 0x1000007E,
			BugCheckName:   "SYSTEM_THREAD_EXCEPTION_NOT_HANDLED_M",
			BugCheckParams: []uint64{0xFFFFFFFFC0000005, 0xFFFFF8047BC1E3A5, 0xFFFFF20C9F2A6D38, 0xFFFFF20C9F2A6570},
			Modules:        151,
		},
		PoolError: "triage (minidump) dumps carry no physical memory pages, so the pool tracker tables are not in this file; " +
			"configure a kernel memory dump and capture the next crash",
		Verdict: Verdict{
			Sentences:  []string{"No pool analysis is possible from this dump: it holds no pool memory."},
			Confidence: analysis.NoConfidence,
			Raise:      []string{"A kernel or complete memory dump (Startup and Recovery, Write debugging information)."},
		},
	}
}
