package batch

import (
	"time"

	"github.com/poolblame/poolblame/batch/trend"
	"github.com/poolblame/poolblame/pool/snapshot"
)

// RecordSchema names the form of a summary.jsonl line.
const RecordSchema = "poolblame.batch.dump/1"

// Dump statuses.
const (
	StatusOK        = "ok"
	StatusPartial   = "partial"   // pool data incomplete
	StatusNoPool    = "no-pool"   // the dump holds no pool data
	StatusError     = "error"     // the dump could not be read
	StatusDuplicate = "duplicate" // the same dump was listed under another path
)

// Summary is everything a batch run found.
type Summary struct {
	Generated time.Time
	OutDir    string
	Workers   int

	// Dumps in summary order: by group, then system time; failed last.
	Dumps     []*DumpRecord
	Groups    []*Group
	Snapshots []*Series
	// CounterLogs are the Performance Monitor logs, in input order.
	CounterLogs []*CounterLog
	// FailedSnapshots are the snapshot files (and Performance Monitor
	// logs) that could not be read.
	FailedSnapshots []FailedInput
	Refusals        []*RefusalLog

	Counts Counts
	// Notes say what limited the run: fewer workers for lack of memory,
	// inputs that could not be read, an unreadable index.json.
	Notes []string
}

// Counts are the totals of a run.
type Counts struct {
	Dumps       int // dump inputs, duplicates included
	Analysed    int // read in this run
	Skipped     int // taken from index.json
	Failed      int // status error
	NoPool      int // status no-pool
	Duplicates  int
	Snapshots   int // snapshot files read
	CounterLogs int // Performance Monitor logs read
	// SnapshotsFailed counts snapshot files and Performance Monitor logs
	// that could not be read.
	SnapshotsFailed int
	Ignored         int // files in the folders that are neither dumps nor snapshots
}

// DumpRecord is one dump's line in summary.jsonl and its row in the
// summary table.
type DumpRecord struct {
	Schema    string            `json:"schema"`
	Path      string            `json:"path"`
	Member    string            `json:"member,omitempty"`
	Container string            `json:"container,omitempty"`
	Folder    string            `json:"folder"`
	Key       string            `json:"key,omitempty"`
	Status    string            `json:"status"`
	Error     string            `json:"error,omitempty"`
	PoolError string            `json:"pool_error,omitempty"`
	Missing   []string          `json:"missing,omitempty"`
	Cached    bool              `json:"cached,omitempty"`
	Reports   map[string]string `json:"reports,omitempty"` // format name -> file name
	Group     string            `json:"group,omitempty"`
	Boot      int               `json:"boot,omitempty"`

	Build         uint32    `json:"build,omitempty"`
	Release       string    `json:"release,omitempty"`
	Arch          string    `json:"arch,omitempty"`
	CPUs          int       `json:"cpus,omitempty"`
	DumpType      string    `json:"dump_type,omitempty"`
	PhysicalBytes uint64    `json:"physical_bytes,omitempty"`
	KernBase      string    `json:"kernbase,omitempty"`
	BootID        uint32    `json:"boot_id,omitempty"`
	BugCheck      uint32    `json:"bugcheck,omitempty"`
	BugCheckName  string    `json:"bugcheck_name,omitempty"`
	Capture       string    `json:"capture,omitempty"`
	SystemTime    time.Time `json:"system_time,omitzero"`
	UptimeSeconds float64   `json:"uptime_seconds,omitempty"`

	NonPaged *PoolUse `json:"nonpaged,omitempty"`
	Paged    *PoolUse `json:"paged,omitempty"`

	TopTag    string `json:"top_tag,omitempty"`
	TopPool   string `json:"top_pool,omitempty"`
	TopBytes  uint64 `json:"top_bytes,omitempty"`
	TopDriver string `json:"top_driver,omitempty"`
	Culprit   string `json:"culprit,omitempty"` // the driver the report's verdict names first
	// Suspect is, on a pool corruption bug check, the first driver the
	// verdict names as a suspect for Special Pool (no culprit is named).
	Suspect    string `json:"suspect,omitempty"`
	Confidence string `json:"confidence,omitempty"`

	Leading []Leading `json:"leading,omitempty"`

	kernBase uint64 // parsed KernBase, for boot checks
}

// Name is how the summary names the dump: the path, and the member of a zip.
func (d *DumpRecord) Name() string {
	if d.Member != "" {
		return d.Path + ":" + d.Member
	}
	return d.Path
}

// PoolUse is one pool's use against its maximum.
type PoolUse struct {
	Used    uint64  `json:"used"`
	Max     uint64  `json:"max"`
	Percent float64 `json:"percent"` // -1: the maximum is unknown
}

// Leading is one of the report's leading tags.
type Leading struct {
	Tag         string  `json:"tag"`
	Pool        string  `json:"pool"`
	Bytes       uint64  `json:"bytes"`
	Outstanding int64   `json:"outstanding"`
	RatePerDay  float64 `json:"rate_per_day"`
	Driver      string  `json:"driver,omitempty"`
}

// TagBytes is one tag's use in one pool at one moment.
type TagBytes struct {
	Tag         string `json:"tag"`
	Pool        string `json:"pool"` // "nonpaged" or "paged"
	Bytes       uint64 `json:"bytes"`
	Outstanding int64  `json:"outstanding"`
}

// Group is the dumps of one machine and its trends.
type Group struct {
	ID     string
	Name   string // the facts, and the folder when split by folder
	Folder string // set when the group is one folder
	Dumps  []*DumpRecord
	Boots  int
	Trends []*Trend // candidates, flagged first, ranked
	Notes  []string
}

// Flagged returns the group's flagged trends, ranked.
func (g *Group) Flagged() []*Trend { return flagged(g.Trends) }

// Series is a series of pool snapshots of one live machine.
type Series struct {
	ID        string
	Name      string
	PerStep   bool // the snapshots' times are unknown: growth is per snapshot
	Snapshots []*SnapshotInfo
	Trends    []*Trend
	Notes     []string
}

// Flagged returns the series' flagged trends, ranked.
func (s *Series) Flagged() []*Trend { return flagged(s.Trends) }

// FailedInput is an input that could not be read, with why.
type FailedInput struct {
	File  string
	Error string
}

// SnapshotInfo is one snapshot of a series.
type SnapshotInfo struct {
	File   string
	Format string
	Time   time.Time
	// TimeSource says where Time comes from: "file" (the snapshot says),
	// "given" (--time), "name" or "name (date)" (the file's name),
	// "modified" (the file's modification time) or "order" (unknown).
	TimeSource string
	Partial    bool
	Tags       int
	// PoolNonPaged and PoolPaged are the machine totals a poolmon header
	// gives; 0 when the snapshot has none.
	PoolNonPaged, PoolPaged uint64
	// NonPagedMax and PagedMax are the maxima !vm text gave; 0 when none
	// (or when the build has no fixed maximum).
	NonPagedMax, PagedMax uint64
	Notes                 []string

	snap *snapshot.Snapshot
}

// Trend is one tag's course over a group of dumps or a snapshot series
// (package trend).
type Trend = trend.Trend

// Point is a tag's use in one dump or snapshot.
type Point = trend.Point

// RefusalLog is an HTTP.SYS error log's connection refusals per hour.
type RefusalLog struct {
	File  string
	Hours []snapshot.HourCount
	Total int
	Err   string
}

func flagged(ts []*Trend) []*Trend {
	var out []*Trend
	for _, t := range ts {
		if t.Flagged {
			out = append(out, t)
		}
	}
	return out
}
