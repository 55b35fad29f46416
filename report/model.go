package report

import (
	"time"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pooltag"
)

// SchemaVersion is the version of the JSON form of Report
// (report/schema/report.schema.json). It changes when a field changes
// meaning or goes away; added fields keep it.
const SchemaVersion = "1.0"

// Report is everything poolblame says about one dump.
type Report struct {
	SchemaVersion string    `json:"schema_version"`
	Generated     time.Time `json:"generated"` // zero in golden tests
	Dump          Dump      `json:"dump"`

	// Pool is nil when the dump cannot support a pool analysis;
	// PoolError then says why.
	Pool      *Pool  `json:"pool,omitempty"`
	PoolError string `json:"pool_error,omitempty"`

	LeadingNonPaged []TagRow `json:"leading_nonpaged"`
	LeadingPaged    []TagRow `json:"leading_paged"`

	Verdict Verdict `json:"verdict"`

	// PoolScan is the pass over the pool itself; absent unless asked for
	// (--scan).
	PoolScan *PoolScan `json:"pool_scan,omitempty"`

	// SessionPool is the session pool of each Terminal Server session
	// (!poolused 8); absent for a pool snapshot. Read false carries the
	// one line that says why nothing was read.
	SessionPool *SessionPool `json:"session_pool,omitempty"`

	// Sources says where driver evidence came from: folders indexed, dump
	// images scanned (with paged-out pages), pooltag.txt used.
	Sources Sources `json:"sources"`

	Warnings []string `json:"warnings"`

	// Analysis is the typed result the report was made from; nil for a
	// report read back from JSON or built by hand.
	Analysis *analysis.Result `json:"-"`
}

// Dump is the machine and the crash, as the dump header and KDBG say.
type Dump struct {
	File           string    `json:"file"`
	Size           int64     `json:"size"`
	Release        string    `json:"release"`
	Build          uint32    `json:"build"`
	Arch           string    `json:"arch"`
	CPUs           int       `json:"cpus"`
	DumpType       string    `json:"dump_type"`
	BugCheck       uint32    `json:"bugcheck"`
	BugCheckName   string    `json:"bugcheck_name,omitempty"`
	Capture        string    `json:"capture,omitempty"`
	BugCheckParams []uint64  `json:"bugcheck_params"`
	SystemTime     time.Time `json:"system_time"`
	UptimeSeconds  float64   `json:"uptime_seconds"`
	// GrowthSeconds is the time between the first and the last sample
	// when growth was measured between them (poolblame live): the growth
	// figures are then over that span, not averages since boot.
	GrowthSeconds float64 `json:"growth_seconds,omitempty"`
	PhysicalBytes uint64  `json:"physical_bytes"` // memory described by the dump
	Modules       int     `json:"modules"`
}

// Pool is the pressure on each pool and how the numbers were obtained.
type Pool struct {
	NonPaged PoolPressure `json:"nonpaged"`
	Paged    PoolPressure `json:"paged"`

	// HTTPSys is set on Server 2003 / Vista-era dumps: whether free
	// nonpaged pool was below HTTP.SYS's 20 MB floor.
	HTTPSys *HTTPSys `json:"httpsys,omitempty"`

	// HTTPSysApplies: the build is one where HTTP.SYS's 20 MB floor is
	// documented (Server 2003, Vista / Server 2008).
	HTTPSysApplies bool `json:"httpsys_applies"`

	Tags        int      `json:"tags"` // tags with any counter
	OneCPUOnly  bool     `json:"one_cpu_only"`
	PerCPU      int      `json:"per_cpu_tables"`
	Partial     bool     `json:"partial"`
	Missing     []string `json:"missing,omitempty"`
	Notes       []string `json:"notes,omitempty"`
	TableLayout string   `json:"table_layout"`

	// Checks are the invariants of the pool data, each passed, failed or
	// unknown; failed and unknown ones cap the verdict's confidence.
	Checks []Check `json:"checks"`
}

// Check is one invariant of the pool data and its outcome.
type Check struct {
	Name   string `json:"name"`
	Status string `json:"status"` // "passed", "failed" or "unknown"
	Detail string `json:"detail"`
}

// PoolPressure is one pool's use against its maximum.
type PoolPressure struct {
	Used      uint64  `json:"used"`       // bytes tracked by tag
	Max       uint64  `json:"max"`        // 0: unknown
	MaxSource string  `json:"max_source"` // where Max came from or why it is unknown
	Percent   float64 `json:"percent"`    // -1: unknown
	// GrowthPerDay is Used / uptime: the average growth since boot,
	// assuming the pool started near empty.
	GrowthPerDay float64 `json:"growth_per_day"`
	// DaysToExhaustion at that rate from the dump's moment; -1 when it
	// cannot be said (no maximum, no uptime, or already exhausted: 0).
	DaysToExhaustion float64 `json:"days_to_exhaustion"`
	Documented       string  `json:"documented_limit"`

	// NoFixedMax: the build has no fixed maximum for this pool (64-bit
	// Windows 8.1 and later); pressure is then against physical memory.
	NoFixedMax bool `json:"no_fixed_max,omitempty"`
	// PhysicalBytes and OfPhysical: the machine's physical memory and
	// Used as a percent of it (-1: unknown).
	PhysicalBytes uint64  `json:"physical_bytes,omitempty"`
	OfPhysical    float64 `json:"percent_of_physical"`
	// LowerBound: part of the tracker data is missing, Used is at least
	// what it says.
	LowerBound bool `json:"lower_bound,omitempty"`
	// Contradicted: Used is above the maximum or physical memory, so the
	// sums are wrong (the in-bounds check failed); no exhaustion is
	// claimed on them.
	Contradicted bool `json:"contradicted,omitempty"`
}

// HTTPSys is the HTTP.SYS Connections_Refused check.
type HTTPSys struct {
	FreeNonPaged uint64 `json:"free_nonpaged"`
	Threshold    uint64 `json:"threshold"`
	Below        bool   `json:"below"`
}

// TagRow is one leading tag.
type TagRow struct {
	Tag          string  `json:"tag"`
	Pool         string  `json:"pool"` // "nonpaged" or "paged"
	Outstanding  int64   `json:"outstanding"`
	Allocs       uint64  `json:"allocs"`
	Frees        uint64  `json:"frees"`
	Bytes        uint64  `json:"bytes"`
	Share        float64 `json:"share"` // percent of its pool's tracked bytes
	AvgSize      float64 `json:"avg_size"`
	GrowthPerDay float64 `json:"growth_per_day"` // bytes per day of uptime, or over Dump.GrowthSeconds

	Description   string `json:"description,omitempty"`    // pooltag.txt
	PooltagBinary string `json:"pooltag_binary,omitempty"` // pooltag.txt

	Candidates []Candidate `json:"candidates"`
	// TextOnly names the files in which the tag only appears as text
	// (its four bytes, no call site or immediate): not owners.
	TextOnly []string `json:"text_only,omitempty"`

	tag pooltag.Tag // the raw tag: Tag escapes bytes that are not printable
}

// Candidate is a driver with evidence for a tag.
type Candidate struct {
	Name     string                   `json:"name"`
	Path     string                   `json:"path"`
	Source   analysis.CandidateSource `json:"source"`   // "folder", "dump image" or "pooltag.txt"
	Evidence string                   `json:"evidence"` // strongest kind: call-site, immediate, bytes, pooltag
	Count    int                      `json:"count"`    // occurrences of that kind
	Routines []string                 `json:"routines,omitempty"`

	Company     string `json:"company,omitempty"`
	Description string `json:"description,omitempty"`
	Product     string `json:"product,omitempty"`
	Version     string `json:"version,omitempty"`
	Signer      string `json:"signer,omitempty"`
	Signature   string `json:"signature"` // e.g. "signed by X, hash matches" / "no embedded signature (may be catalog-signed)"
	Microsoft   bool   `json:"microsoft"`
	// Owner is who made the driver; what every form says of it.
	Owner      analysis.Owner `json:"-"`
	SHA256     string         `json:"sha256,omitempty"`
	Machine    string         `json:"machine,omitempty"`
	TimeStamp  string         `json:"time_date_stamp,omitempty"`
	Loaded     bool           `json:"loaded"`                // loaded in the dump
	LoadedNote string         `json:"loaded_note,omitempty"` // how the file differs from the loaded module
	// LoadedUnknown: the source (a pool snapshot) lists no loaded modules.
	LoadedUnknown bool    `json:"loaded_unknown,omitempty"`
	PDB           *pe.PDB `json:"pdb,omitempty"`        // the debug directory's CodeView record
	OwnerHint     string  `json:"owner_hint,omitempty"` // what beside version and signature decided the owner
}

// Verdict is the report's conclusion in plain sentences.
type Verdict struct {
	Sentences  []string            `json:"sentences"`
	Confidence analysis.Confidence `json:"confidence"` // "high", "medium", "low" or "none"
	Culprits   []Culprit           `json:"culprits"`
	// Suspects replace Culprits on a pool corruption bug check: drivers
	// with evidence for the leading tags, for Special Pool or Driver
	// Verifier.
	Suspects []Culprit `json:"suspects,omitempty"`
	// Raise says what would raise the confidence.
	Raise []string `json:"raise,omitempty"`
}

// Culprit is a driver the verdict names.
type Culprit struct {
	Driver     string         `json:"driver"`
	Tags       []string       `json:"tags"`
	Bytes      uint64         `json:"bytes"`
	ThirdParty bool           `json:"third_party"`
	Owner      analysis.Owner `json:"-"`
}

// Sources is where the evidence came from.
type Sources struct {
	DriverFolders     []string `json:"driver_folders"`
	NotSearched       string   `json:"folders_not_searched,omitempty"` // why the folders given were not searched
	FilesIndexed      int      `json:"files_indexed"`
	DumpImagesScanned int      `json:"dump_images_scanned"`
	DumpPagesMissing  int      `json:"dump_pages_missing"` // image pages paged out or absent
	Pooltag           string   `json:"pooltag,omitempty"`
}
