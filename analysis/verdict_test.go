package analysis

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"

	"github.com/poolblame/poolblame/pe"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// The verdict's cases, each a Result built by hand: pools at a stated use,
// leading tags at stated shares, candidates with stated evidence.

func tagOf(s string) pooltag.Tag {
	t, err := pooltag.ParseTag(s)
	if err != nil {
		panic(err)
	}
	return t
}

func callSite(name string, owner Owner) Candidate {
	return Candidate{Name: name, Source: FromFolder, Owner: owner, Loaded: true, Evidence: pe.Evidence{CallSites: 2, Immediates: 2, Bytes: 2}}
}

func withEvidence(c Candidate, ev pe.Evidence) Candidate { c.Evidence = ev; return c }

func notLoaded(c Candidate) Candidate { c.Loaded = false; return c }

func fromPooltag(name string) Candidate {
	return Candidate{Name: name, Source: FromPooltag, Owner: OwnerUnknown}
}

func usage(tag string, share float64, cands ...Candidate) TagUsage {
	if cands == nil {
		cands = []Candidate{}
	}
	return TagUsage{Tag: tagOf(tag), Share: share, Bytes: uint64(share * 1e6), Candidates: cands}
}

// result is a dump whose nonpaged pool is npPercent used (-1: maximum
// unknown) and paged pool 10% used, with 2 per-CPU tables read and one
// driver folder indexed.
func result(npPercent float64, np ...TagUsage) *Result {
	r := &Result{
		Pool: &Pool{
			NonPaged: Pressure{Used: 100, Max: 200, Percent: npPercent, DaysToExhaustion: -1},
			Paged:    Pressure{Used: 10, Max: 100, Percent: 10, DaysToExhaustion: -1},
			PerCPU:   2,
		},
		NonPaged: np,
		Paged:    []TagUsage{},
		Sources:  Sources{DriverFolders: []string{"drivers"}, FilesIndexed: 3},
	}
	if npPercent < 0 {
		r.Pool.NonPaged.Max = 0
	}
	for i := range r.NonPaged {
		r.NonPaged[i].Pool = NonPaged
	}
	return r
}

func kinds(fs []Finding) []FindingKind {
	var out []FindingKind
	for _, f := range fs {
		out = append(out, f.Kind)
	}
	return out
}

func TestVerdict(t *testing.T) {
	isil := callSite("isil.sys", OwnerThirdParty)
	portcls := callSite("portcls.sys", OwnerMicrosoft)
	other := callSite("other.sys", OwnerThirdParty)
	tests := []struct {
		name     string
		res      *Result
		edit     func(*Result)
		findings []FindingKind
		culprits []string
		conf     Confidence
		raise    []string // nil: only the second-dump advice
	}{
		{name: "third-party call site, pool short",
			res:      result(85, usage("ISil", 32, isil)),
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: High},
		{name: "maximum unknown is weighed, not calm, but never raises the confidence",
			res:      result(-1, usage("ISil", 32, isil)),
			findings: []FindingKind{Blamed}, culprits: []string{"isil.sys"}, conf: Medium,
			raise: []string{"The pool maximum is not in this dump: a dump with it readable (or !vm output from the same machine) would show how close the pool was to it."}},
		{name: "neither pool short: at most medium, and said",
			res:      result(30, usage("ISil", 32, isil)),
			findings: []FindingKind{NeitherPoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: Medium,
			raise: []string{"No pool was near its maximum: a later dump showing the tag still growing would confirm a leak."}},
		{name: "Microsoft owner not blamed beside a third-party leader; confidence is the third party's",
			res:      result(85, usage("PcNw", 40, portcls), usage("ISil", 15, notLoaded(isil))),
			findings: []FindingKind{PoolShort, MicrosoftNotBlamed, Blamed}, culprits: []string{"isil.sys"}, conf: Medium,
			raise: []string{"isil.sys is not in the dump's module list: check that the indexed file is the one that was loaded."}},
		{name: "Microsoft owner blamed when alone",
			res:      result(85, usage("PcNw", 40, portcls)),
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"portcls.sys"}, conf: High},
		{name: "no driver found",
			res:      result(85, usage("IAM ", 30)),
			findings: []FindingKind{PoolShort, NoDriverFound}, conf: NoConfidence},
		{name: "no driver for the first tag, a driver for the second: graded on the second",
			res:      result(85, usage("IAM ", 30), usage("ISil", 25, isil)),
			findings: []FindingKind{PoolShort, NoDriverFound, Blamed}, culprits: []string{"isil.sys"}, conf: High},
		{name: "nothing stands out",
			res:      result(85, usage("ISil", 9, isil)),
			findings: []FindingKind{PoolShort, NothingStandsOut}, conf: NoConfidence,
			raise: []string{laterDumpShowsGrowth}},
		{name: "fourth tag not weighed",
			res:      result(85, usage("AAAA", 12), usage("BBBB", 11), usage("CCCC", 11), usage("ISil", 11, isil)),
			findings: []FindingKind{PoolShort, NoDriverFound, NoDriverFound, NoDriverFound}, conf: NoConfidence},
		{name: "one driver, two tags: one culprit",
			res:      result(85, usage("ISil", 32, isil), usage("I100", 13, isil)),
			findings: []FindingKind{PoolShort, Blamed, Blamed}, culprits: []string{"isil.sys"}, conf: High},
		{name: "rivals with the same kind of evidence",
			res:      result(85, usage("ISil", 32, isil, other)),
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: Medium,
			raise: []string{"1 other drivers show the same kind of evidence for ISil: compare them (tags can be reused on purpose)."}},
		{name: "a pooltag.txt entry is no rival",
			res:      result(85, usage("ISil", 32, isil, fromPooltag("isil.sys"))),
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: High},
		{name: "immediate evidence: medium",
			res:      result(85, usage("ISil", 32, withEvidence(isil, pe.Evidence{Immediates: 1, Bytes: 1}))),
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: Medium},
		{name: "bytes only: low",
			res:      result(85, usage("ISil", 32, withEvidence(isil, pe.Evidence{Bytes: 1}))),
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: Low},
		{name: "pooltag.txt only: low",
			res:      result(85, usage("ISil", 32, fromPooltag("isil.sys"))),
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: Low,
			raise: []string{"isil.sys is not in the dump's module list: check that the indexed file is the one that was loaded."}},
		{name: "share below the strong share: medium",
			res:      result(85, usage("ISil", 15, isil)),
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: Medium},
		{name: "one CPU's table only: low, and said",
			res:      result(85, usage("ISil", 32, isil)),
			edit:     func(r *Result) { r.Pool.OneCPUOnly, r.Pool.PerCPU = true, 0 },
			findings: []FindingKind{PoolShort, OneCPUTable, Blamed}, culprits: []string{"isil.sys"}, conf: Low,
			raise: []string{"The per-CPU tracker tables were not found: a dump from the same build with symbols (!poolused) would confirm the totals."}},
		{name: "a CPU's table missing: low",
			res:      result(85, usage("ISil", 32, isil)),
			edit:     func(r *Result) { r.Pool.MissingCPUs = []int{1} },
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: Low},
		{name: "partial data does not lower a high confidence; its advice is dropped at high",
			res:      result(85, usage("ISil", 32, isil)),
			edit:     func(r *Result) { r.Pool.Partial, r.Pool.Missing = true, []string{"page 3"} },
			findings: []FindingKind{PoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: High},
		{name: "below high every unmet check's advice is listed, in table order",
			res: result(30, usage("ISil", 32, notLoaded(isil))),
			edit: func(r *Result) {
				r.Pool.Partial = true
				r.Sources = Sources{}
			},
			findings: []FindingKind{NeitherPoolShort, Blamed}, culprits: []string{"isil.sys"}, conf: Medium,
			raise: []string{
				"No pool was near its maximum: a later dump showing the tag still growing would confirm a leak.",
				"isil.sys is not in the dump's module list: check that the indexed file is the one that was loaded.",
				"Index the machine's drivers (--drivers with a copy of C:\\Windows\\System32\\drivers) to read version and signature of each candidate.",
				"Part of the tracker data is missing from this dump: a complete or kernel dump with the pages present would fill it in.",
			}},
		{name: "HTTP.SYS below its floor is a finding",
			res:      result(85, usage("ISil", 32, isil)),
			edit:     func(r *Result) { r.Pool.HTTPSys = &HTTPSys{FreeNonPaged: 1, Threshold: 2, Below: true} },
			findings: []FindingKind{PoolShort, HTTPSysRefuses, Blamed}, culprits: []string{"isil.sys"}, conf: High},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.edit != nil {
				tc.edit(tc.res)
			}
			v, checks := decide(tc.res)
			if got := kinds(v.Findings); !reflect.DeepEqual(got, tc.findings) {
				t.Errorf("findings %v, want %v", got, tc.findings)
			}
			var culprits []string
			for _, c := range v.Culprits {
				culprits = append(culprits, c.Driver)
			}
			if !reflect.DeepEqual(culprits, tc.culprits) {
				t.Errorf("culprits %v, want %v", culprits, tc.culprits)
			}
			if v.Confidence != tc.conf {
				t.Errorf("confidence %v, want %v; reasons %q", v.Confidence, tc.conf, v.Reasons)
			}
			want := tc.raise
			if tc.conf != NoConfidence || want == nil {
				want = append(append([]string{}, tc.raise...), secondDumpShowsGrowth)
			}
			if tc.findings[len(tc.findings)-1] == NothingStandsOut {
				want = tc.raise
			}
			if !reflect.DeepEqual(v.Raise, want) {
				t.Errorf("raise\n%q\nwant\n%q", v.Raise, want)
			}
			if len(checks) != len(checksTable()) {
				t.Errorf("%d checks, want one per table entry (%d)", len(checks), len(checksTable()))
			}
		})
	}
}

func checksTable() []string {
	var out []string
	for _, c := range checks {
		out = append(out, c.name)
	}
	return out
}

// TestConfidenceOnlyLowered: whatever the checks say, the confidence is
// never above the evidence's, and never above the Limit of a check that
// did not pass; every lowering is given as a reason.
func TestConfidenceOnlyLowered(t *testing.T) {
	cands := []Candidate{
		callSite("a.sys", OwnerThirdParty),
		withEvidence(callSite("a.sys", OwnerThirdParty), pe.Evidence{Immediates: 1}),
		withEvidence(callSite("a.sys", OwnerThirdParty), pe.Evidence{Bytes: 1}),
		fromPooltag("a.sys"),
	}
	statuses := []CheckStatus{Passed, Failed, NotRun}
	for _, c := range cands {
		for _, st := range statuses {
			for _, limit := range []Confidence{NoConfidence, Low, Medium, High} {
				c := c
				tag := usage("ATag", 30, c)
				g := &graded{tag: &tag, cand: &tag.Candidates[0]}
				ks := []Check{{Name: "x", Status: st, Limit: limit}, {Name: "y", Status: Passed, Limit: NoConfidence}}
				got, reasons := confidence(g, ks)
				base := evidenceConfidence(&c)
				if got > base {
					t.Errorf("%v evidence, check %v limit %v: %v above the evidence's %v", c.Kind(), st, limit, got, base)
				}
				if st != Passed && got > limit {
					t.Errorf("check %v limit %v: confidence %v above the limit", st, limit, got)
				}
				if st == Passed && got != base {
					t.Errorf("a passed check changed the confidence: %v, want %v", got, base)
				}
				if lowered := got < base; lowered != (len(reasons) == 2) {
					t.Errorf("lowered %v but reasons %q", lowered, reasons)
				}
			}
		}
	}
}

func TestNoPoolVerdict(t *testing.T) {
	for _, tc := range []struct {
		m     Machine
		err   error
		raise int
	}{
		{Machine{Triage: true}, pool.ErrNoPoolData, 1},
		{Machine{}, fmt.Errorf("reading: %w", pool.ErrNoPoolData), 1},
		{Machine{}, errors.New("other"), 0},
	} {
		v := noPoolVerdict(tc.m, tc.err)
		if v.Confidence != NoConfidence || len(v.Culprits) != 0 || kinds(v.Findings)[0] != NoPoolAnalysis || len(v.Raise) != tc.raise {
			t.Errorf("no-pool verdict %+v for %+v, %v", v, tc.m, tc.err)
		}
	}
}

// TestContradictionNamesNoDriver: a failed check on the sums themselves,
// or CPUs' tables left out of them, withholds every culprit (the ranking
// may be the damage); a wrong header field found another way does not.
func TestContradictionNamesNoDriver(t *testing.T) {
	tests := []struct {
		name    string
		failed  string // a pool check that failed
		cpus    int    // Machine.CPUs; tables summed: 2
		oneCPU  bool
		culprit bool
	}{
		{"good", "", 2, false, true},
		{"cpu count", pool.CheckCPUCount, 2, false, true},
		{"kernel base", pool.CheckKernBase, 2, false, true},
		{"nonpaged bounds", pool.CheckNonPagedBounds, 2, false, false},
		{"paged bounds", pool.CheckPagedBounds, 2, false, false},
		{"table pages", pool.CheckTablePages, 2, false, false},
		{"per-CPU agree", pool.CheckPerCPUAgree, 2, false, false},
		{"counters", pool.CheckCounters, 2, false, false},
		{"per-CPU tables", pool.CheckPerCPUTables, 2, false, false},
		{"one CPU's table", "", 2, true, false},
		{"fewer tables than CPUs", "", 4, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := result(85, usage("ISil", 32, callSite("isil.sys", OwnerThirdParty)))
			r.Machine.CPUs = tt.cpus
			r.Pool.OneCPUOnly = tt.oneCPU
			if tt.failed != "" {
				r.Pool.Checks = []pool.Check{{Name: tt.failed, Status: pool.CheckFailed}}
			}
			v, _ := decide(r)
			named := len(v.Culprits) > 0
			if named != tt.culprit {
				t.Fatalf("culprits %v, want named %v; findings %v", v.Culprits, tt.culprit, kinds(v.Findings))
			}
			contradicts := slices.Contains(kinds(v.Findings), DataContradicts)
			if contradicts == tt.culprit || (!tt.culprit && (v.Confidence != NoConfidence || slices.Contains(kinds(v.Findings), Blamed))) {
				t.Errorf("findings %v, confidence %v", kinds(v.Findings), v.Confidence)
			}
		})
	}
}
