package report

import (
	"fmt"
	"strings"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/units"
)

// The sentences every form shares, so the terminal, the bug tracker and
// the HTML page never say different things about the same dump.

// systemFact is "Windows Server 2003, build 3790, x86, 2 CPUs".
func systemFact(d Dump) string {
	var parts []string
	if d.Release != "" {
		parts = append(parts, d.Release)
	} else {
		parts = append(parts, "Windows (release unknown)")
	}
	if d.Build != 0 {
		parts = append(parts, fmt.Sprintf("build %d", d.Build))
	}
	if d.Arch != "" {
		parts = append(parts, d.Arch)
	}
	if d.CPUs > 0 {
		parts = append(parts, fmt.Sprintf("%d CPU%s", d.CPUs, units.Plural(d.CPUs)))
	}
	return strings.Join(parts, ", ")
}

// bugCheckFact is "0x000000E2 MANUALLY_INITIATED_CRASH (0x0, 0x0, 0x0, 0x0)".
func bugCheckFact(d Dump) string {
	if d.Capture != "" { // the bug check fields hold the tool's signature
		return CaptureText(d.Capture)
	}
	if d.BugCheck == 0 && len(d.BugCheckParams) == 0 {
		return "none recorded"
	}
	s := hex32(d.BugCheck)
	if d.BugCheckName != "" {
		s += " " + d.BugCheckName
	}
	if len(d.BugCheckParams) > 0 {
		p := make([]string, len(d.BugCheckParams))
		for i, v := range d.BugCheckParams {
			p[i] = hexParam(v)
		}
		s += " (" + strings.Join(p, ", ") + ")"
	}
	return s
}

// CaptureText is what stands in place of a bug check for a memory
// capture: "none: memory capture (DumpIt), not a crash".
func CaptureText(tool string) string {
	return "none: memory capture (" + tool + "), not a crash"
}

// dumpFact is "MEMORY.DMP, 1.0 GiB, kernel dump".
func dumpFact(d Dump) string {
	parts := []string{orUnknown(d.File, "file name unknown")}
	if d.Size > 0 {
		parts = append(parts, units.Bytes(uint64(d.Size)))
	}
	if t := oneLine(d.DumpType); t != "" {
		if !strings.Contains(strings.ToLower(t), "dump") {
			t += " dump"
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, ", ")
}

// memoryFact is the memory the dump describes and its module count.
func memoryFact(d Dump) string {
	var parts []string
	if d.PhysicalBytes > 0 {
		parts = append(parts, units.Bytes(d.PhysicalBytes)+" of physical memory described")
	}
	if d.Modules > 0 {
		parts = append(parts, fmt.Sprintf("%s loaded module%s", units.Count(int64(d.Modules)), units.Plural(d.Modules)))
	}
	if len(parts) == 0 {
		return "not recorded"
	}
	return strings.Join(parts, ", ")
}

func orUnknown(s, unknown string) string {
	if strings.TrimSpace(s) == "" {
		return unknown
	}
	return s
}

// usageFact is "109.0 MiB of 128.0 MiB (85.2%), maximum from KDBG ...".
func usageFact(p PoolPressure) string {
	if !hasMax(p) {
		return units.Bytes(p.Used) + " used; " + maxSourceFact(p)
	}
	return usedOfMax(p) + " (" + units.Percent(p.Percent) + "), " + maxSourceFact(p)
}

func hasMax(p PoolPressure) bool { return p.Max != 0 && units.Known(p.Percent) }

// overFull: the use is above the maximum (or above physical memory),
// which no pool can hold: the counters or the maximum are wrong. Such a
// percentage is never drawn as a bar or gauge, only said.
func overFull(p PoolPressure) bool {
	s := shownPercent(p)
	return units.Known(s) && s > 100
}

// usedOfMax is "109.0 MiB of 128.0 MiB", "5.0 GiB of 16.0 GiB physical
// memory" (builds with no fixed maximum) or "109.0 MiB used, maximum
// unknown". A lower bound says "at least".
func usedOfMax(p PoolPressure) string {
	used := units.Bytes(p.Used)
	if p.LowerBound {
		used = "at least " + used
	}
	switch {
	case overFull(p) && hasMax(p):
		return fmt.Sprintf("%s, %.1f times the %s maximum", used, p.Percent/100, units.Bytes(p.Max))
	case overFull(p):
		return fmt.Sprintf("%s, %.1f times the %s of physical memory", used, p.OfPhysical/100, units.Bytes(p.PhysicalBytes))
	case hasMax(p):
		return used + " of " + units.Bytes(p.Max)
	case p.NoFixedMax && p.PhysicalBytes != 0:
		return used + " of " + units.Bytes(p.PhysicalBytes) + " physical memory"
	}
	return used + " used, maximum unknown"
}

// shownPercent is what the bar shows: percent of the maximum, or of
// physical memory on builds with no fixed maximum.
func shownPercent(p PoolPressure) float64 {
	if !hasMax(p) && p.NoFixedMax {
		return p.OfPhysical
	}
	return p.Percent
}

// textOnlyFact is "appears as text in 3 files (a.sys, b.sys, c.sys), which
// is not evidence of use", or "" when it appears in none.
func textOnlyFact(names []string) string {
	if len(names) == 0 {
		return ""
	}
	shown := names
	if len(shown) > 3 {
		shown = shown[:3]
	}
	list := strings.Join(shown, ", ")
	if len(names) > 3 {
		list += ", ..."
	}
	return fmt.Sprintf("appears as text in %d file%s (%s), which is not evidence of use", len(names), units.Plural(len(names)), list)
}

// checksFact is "8 passed (cpu-count, ...), 1 failed, 1 unknown".
func checksFact(cs []Check) string {
	var passed []string
	failed, unknown := 0, 0
	for _, c := range cs {
		switch c.Status {
		case "passed":
			passed = append(passed, c.Name)
		case "failed":
			failed++
		default:
			unknown++
		}
	}
	return fmt.Sprintf("%d passed (%s), %d failed, %d unknown", len(passed), strings.Join(passed, ", "), failed, unknown)
}

// checkFailed reports whether the named check failed.
func checkFailed(p *Pool, name string) bool {
	for _, c := range p.Checks {
		if c.Name == name && c.Status == "failed" {
			return true
		}
	}
	return false
}

// httpSysNA says why the HTTP.SYS floor is not judged.
func httpSysNA(p *Pool, build uint32) string {
	switch {
	case p.HTTPSys != nil:
		return ""
	case !p.HTTPSysApplies && build == 0:
		// A pool snapshot names no build.
		return "the Windows build is unknown, so whether HTTP.SYS's 20 MB free nonpaged floor applies cannot be said"
	case !p.HTTPSysApplies:
		return "the 20 MB free nonpaged floor is documented for Server 2003 and Vista / Server 2008 only: it does not apply to this build"
	}
	return "the 20 MB free nonpaged floor applies to this build but cannot be judged: the nonpaged maximum is unknown or the tracker sums failed a check"
}

// maxSourceFact says where the maximum came from or why it is unknown.
func maxSourceFact(p PoolPressure) string {
	src := oneLine(p.MaxSource)
	switch {
	case !hasMax(p) && p.NoFixedMax:
		return src
	case hasMax(p) && src != "":
		return "maximum from " + src
	case hasMax(p):
		return "maximum source not recorded"
	case src != "":
		return "maximum unknown: " + src
	}
	return "maximum unknown: not found in the dump"
}

// growthFact says how fast the pool grew, since boot or over the span
// measured (span seconds, 0: none), and when it would run out at that
// pace.
func growthFact(p PoolPressure, span float64) string {
	if !growthKnown(p.GrowthPerDay, p.Used, span) {
		return "growth since boot unknown (no uptime recorded)"
	}
	s := fmt.Sprintf("grew %s/day on average since boot", units.BytesF(p.GrowthPerDay))
	if span > 0 {
		s = fmt.Sprintf("grew %s/day (%s/h) over the %s measured", units.BytesF(p.GrowthPerDay), units.BytesF(p.GrowthPerDay/24), units.Uptime(span))
	}
	if p.Contradicted {
		return s + "; the sums are above what the pool can hold (the counters or the maximum are wrong), so no time to exhaustion is given"
	}
	switch {
	case p.Max != 0 && p.Used >= p.Max:
		return s + "; already at its maximum"
	case p.DaysToExhaustion == 0:
		return s + "; exhausted at the dump's moment"
	case units.Known(p.DaysToExhaustion):
		return s + "; at that pace exhausted in " + units.Days(p.DaysToExhaustion)
	case p.Max == 0 && p.NoFixedMax:
		return s + "; no fixed maximum, so no time to exhaustion"
	case p.Max == 0:
		return s + "; time to exhaustion unknown without a maximum"
	}
	return s + "; time to exhaustion cannot be estimated"
}

// growthKnown says whether a growth rate was computed: growth is bytes
// over uptime, so zero growth for a non-zero amount means the uptime
// was not recorded.
func growthKnown(g float64, amount uint64, span float64) bool {
	return units.Known(g) && (g > 0 || amount == 0 || span > 0)
}

// documentedFact is the documented limit, when the model carries one.
func documentedFact(p PoolPressure) string {
	if p.Documented == "" {
		return ""
	}
	return "documented limit: " + oneLine(p.Documented)
}

// httpSysFact is the HTTP.SYS Connections_Refused check in one sentence.
func httpSysFact(h *HTTPSys) string {
	if h == nil {
		return ""
	}
	return httpSysSentence(h.FreeNonPaged, h.Threshold, h.Below)
}

// oneCPUFact is the warning for a dump where only the first processor's
// tracker table could be read: on a multiprocessor machine every total
// is then a fraction of the truth.
func oneCPUFact(p *Pool, cpus int) string {
	if p == nil || !p.OneCPUOnly {
		return ""
	}
	of := "the other processors' tables"
	if cpus > 1 {
		of = fmt.Sprintf("the other %d processors' tables", cpus-1)
	}
	return fmt.Sprintf("ONLY ONE PROCESSOR'S POOL TRACKER TABLE WAS READ: %s were not found, so every "+
		"tag's count and bytes here can be far too low and frees can exceed allocations. "+
		"Treat the ranking as a hint, not a measurement.", of)
}

// partialFact says what the pool numbers lack.
func partialFact(p *Pool) string {
	if p == nil || (!p.Partial && len(p.Missing) == 0) {
		return ""
	}
	if len(p.Missing) == 0 {
		return "the pool numbers are partial"
	}
	return "the pool numbers are partial; missing: " + strings.Join(p.Missing, "; ")
}

// trackerFact is how the totals were obtained.
func trackerFact(p *Pool) string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%s tag%s with counters", units.Count(int64(p.Tags)), units.Plural(p.Tags)))
	if p.PerCPU > 0 {
		parts = append(parts, fmt.Sprintf("%d per-CPU tracker table%s summed", p.PerCPU, units.Plural(p.PerCPU)))
	}
	if p.TableLayout != "" {
		parts = append(parts, "layout "+p.TableLayout)
	}
	return strings.Join(parts, ", ")
}

// evidenceFact is "call-site x3".
func evidenceFact(c Candidate) string {
	e := orUnknown(c.Evidence, "evidence unknown")
	if c.Count > 0 {
		e += fmt.Sprintf(" x%d", c.Count)
	}
	return e
}

// fromPooltagOnly says the candidate is a name from pooltag.txt with no
// file behind it, so nothing about its vendor is known.
func fromPooltagOnly(c Candidate) bool { return c.Source == analysis.FromPooltag }

// ownerFact is "third party" or "Microsoft"; empty when no file was
// examined.
func ownerFact(c Candidate) string {
	if c.Owner == analysis.OwnerUnknown {
		return ""
	}
	return c.Owner.String()
}

// culpritOwner is who made a blamed driver, as the culprit line says it.
func culpritOwner(c Culprit) string {
	if c.Owner == analysis.OwnerUnknown {
		return "owner unknown"
	}
	return c.Owner.String()
}

// identityFact is "3.1.2.0, Intersil Corporation, third party".
func identityFact(c Candidate) string {
	var parts []string
	if c.Version != "" {
		parts = append(parts, c.Version)
	}
	if c.Company != "" {
		parts = append(parts, oneLine(c.Company))
	}
	if o := ownerFact(c); o != "" {
		parts = append(parts, o)
	} else {
		parts = append(parts, "named by pooltag.txt only, no file examined")
	}
	return strings.Join(parts, ", ")
}

// signatureFact joins the signer and the signature check.
func signatureFact(c Candidate) string {
	sig := oneLine(c.Signature)
	switch {
	case c.Signer != "" && sig != "" && !strings.Contains(sig, c.Signer):
		return oneLine(c.Signer) + "; " + sig
	case sig != "":
		return sig
	case c.Signer != "":
		return oneLine(c.Signer)
	case fromPooltagOnly(c):
		return "not applicable"
	}
	return "not examined"
}

// loadedFact says whether the driver was loaded when the dump was taken.
func loadedFact(c Candidate) string {
	if c.LoadedUnknown {
		return "unknown: a pool snapshot lists no loaded modules"
	}
	s := "no"
	if c.Loaded {
		s = "yes"
	}
	if c.LoadedNote != "" {
		s += ": " + oneLine(c.LoadedNote)
	}
	return s
}

// confidenceFact names the confidence, never blank.
func confidenceFact(v Verdict) string {
	return v.Confidence.String()
}

// culpritTags is the set of tags the verdict blames, keyed by blameKey:
// the verdict may name a padded tag ("IAM ") without its padding.
func culpritTags(v Verdict) map[string]bool {
	m := map[string]bool{}
	for _, c := range v.Culprits {
		for _, t := range c.Tags {
			m[blameKey(t)] = true
		}
	}
	return m
}

func blameKey(tag string) string { return strings.TrimRight(tag, " ") }

// sourcesFacts lists where driver evidence came from, one line each.
func sourcesFacts(s Sources) []string {
	var out []string
	switch {
	case len(s.DriverFolders) > 0 && s.NotSearched != "":
		out = append(out, fmt.Sprintf("driver folders: %s (not searched: %s)", strings.Join(s.DriverFolders, ", "), s.NotSearched))
	case len(s.DriverFolders) > 0:
		out = append(out, fmt.Sprintf("driver folders: %s (%s file%s indexed)",
			strings.Join(s.DriverFolders, ", "), units.Count(int64(s.FilesIndexed)), units.Plural(s.FilesIndexed)))
	default:
		out = append(out, "driver folders: none given (only images inside the dump were scanned)")
	}
	img := fmt.Sprintf("driver images scanned in the dump: %s", units.Count(int64(s.DumpImagesScanned)))
	if s.DumpPagesMissing > 0 {
		img += fmt.Sprintf(" (%s image page%s paged out or absent)", units.Count(int64(s.DumpPagesMissing)), units.Plural(s.DumpPagesMissing))
	}
	out = append(out, img)
	if s.Pooltag != "" {
		out = append(out, "pooltag.txt: "+s.Pooltag)
	} else {
		out = append(out, "pooltag.txt: not found (tag descriptions unavailable)")
	}
	return out
}

// imageFact is "i386, built 2004-08-12 17:03:55 UTC, SHA-256 5f1a...":
// what identifies the exact file; empty when nothing does.
func imageFact(c Candidate) string {
	var id []string
	if c.Machine != "" {
		id = append(id, oneLine(c.Machine))
	}
	if c.TimeStamp != "" {
		id = append(id, "built "+oneLine(c.TimeStamp))
	}
	if c.SHA256 != "" {
		id = append(id, "SHA-256 "+oneLine(c.SHA256))
	}
	return strings.Join(id, ", ")
}

// pdbFact is the program database the image names: "isil.pdb, GUID
// {...}, age 1"; "" without a CodeView record.
func pdbFact(c Candidate) string {
	if c.PDB == nil {
		return ""
	}
	return fmt.Sprintf("%s, GUID %s, age %d", oneLine(c.PDB.Path), c.PDB.GUID, c.PDB.Age)
}

// ownerHintFact says what beside the version resource and signature made
// the owner what it is; "" when they alone did.
func ownerHintFact(c Candidate) string {
	if c.OwnerHint == "" {
		return ""
	}
	return ownerFact(c) + " by " + oneLine(c.OwnerHint)
}

// fileFact is the candidate's path and where it was found.
func fileFact(c Candidate) string {
	if c.Path == "" {
		return ""
	}
	return c.Path + " (" + c.Source.String() + ")"
}

// describesFact joins the version resource's description and product.
func describesFact(c Candidate) string {
	d, p := oneLine(c.Description), oneLine(c.Product)
	if d == p || p == "" {
		return d
	}
	if d == "" {
		return p
	}
	return d + " / " + p
}

// routinesFact is the evidence with the routines it was found in.
func routinesFact(c Candidate) string {
	ev := evidenceFact(c)
	if len(c.Routines) > 0 {
		ev += " in " + strings.Join(c.Routines, ", ")
	}
	return ev
}
