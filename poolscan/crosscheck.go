package poolscan

import (
	"fmt"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// Agreement is what the scan says of one tag's tracker counts.
type Agreement int

const (
	// Consistent means the scan finds what the tracker claims, or the rest fits
	// in the pages the dump does not show.
	Consistent Agreement = iota + 1
	// Unconfirmed means the scan finds much less, but the unseen pages could
	// hold the rest; the tracker is neither confirmed nor contradicted.
	Unconfirmed
	// Suspect means the scan contradicts the tracker: far fewer blocks than it
	// claims with nowhere for the rest to be, or more blocks in use than
	// it counts where free blocks are told apart (classic pool; segment-heap
	// LFH blocks whose subsegment bitmap was read).
	Suspect
)

var agreementNames = [...]string{Consistent: "consistent", Unconfirmed: "unconfirmed", Suspect: "suspect"}

func (a Agreement) String() string {
	if int(a) < len(agreementNames) && agreementNames[a] != "" {
		return agreementNames[a]
	}
	return fmt.Sprintf("Agreement(%d)", int(a))
}

// MarshalText writes the agreement's name.
func (a Agreement) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// Check compares one tag's tracker count with the scan.
type Check struct {
	Tag       pooltag.Tag
	Tracker   int64 // outstanding allocations the tracker claims (nonpaged + paged)
	Found     int64 // found in use: small blocks in mapped pages, and big allocations
	FoundBig  int64 // of Found, from the big page table
	BigUnseen int64 // of FoundBig, allocations whose pages are paged out or absent
	Unmapped  int64 // blocks on pages the system does not map (stale or session): not in Found
	// Unread is how many of Found are segment-heap blocks whose state no
	// bitmap gave (TagCount.Unread): the scan may count them after their
	// free, so only they may make Found exceed Tracker.
	Unread int64
	// Unseen is the number of 4 KiB pages of the system address space the
	// dump does not show (paged out, absent, past a cut, under a missing
	// page table), and Room how many blocks of the tag's average size they
	// could hold.
	Unseen, Room uint64
	Agreement    Agreement
	Text         string // one line, e.g. "tracker 80,939, found 80,812 in present pages: consistent"
}

// Tolerances. Blocks can move between the tracker update and the page
// being written to the dump (a crash dump is written while other CPUs are
// stopped, a live dump while they run), so small differences are noise.
const (
	agreeSlack    = 0.02 // 2% either way is agreement
	agreeMinSlack = 2
	unconfirmedAt = 0.9 // below 90% found, the unseen pages must explain the rest
)

// CrossCheck compares the tracker's outstanding counts with the scan for
// each tag in usages (the leading tags, typically). tracked is the bytes
// the tracker counts in use over all tags (0: the sum over usages): a dump
// whose system memory could not hold that much does not hold the pool,
// and then no shortfall is held against the tracker.
func CrossCheck(r *Result, usages []pool.Usage, tracked uint64) []Check {
	if tracked == 0 {
		for _, u := range usages {
			tracked += u.NonPagedBytes + u.PagedBytes
		}
	}
	held := (r.Pages.Present + r.Pages.Transition) * dumpfile.PageSize
	var lacks string
	switch {
	case r.Pages.PoolPages == 0 && r.Big.Used == 0:
		lacks = "the scan recognised no pool page in the dump"
	case held*2 < tracked:
		lacks = fmt.Sprintf("the dump holds %s of system memory, less than half the %s the tracker counts in use: most of the pool is not in this dump",
			mib(held), mib(tracked))
	}
	var out []Check
	for _, u := range usages {
		tr := u.NonPagedOutstanding() + u.PagedOutstanding()
		if tr <= 0 {
			continue
		}
		// Nonpaged blocks cannot be in the page file: for a tag that
		// holds no paged pool, paged-out pages are no room for it.
		unseen := r.Pages.Absent + r.Pages.Truncated + uint64(r.Pages.MissingTables)*512
		if u.PagedOutstanding() > 0 {
			unseen += r.Pages.PagedOut
		}
		c := r.Count(u.Tag)
		k := Check{Tag: u.Tag.Unprotected(), Tracker: tr, Found: c.NonPaged + c.Paged + c.Big, FoundBig: c.Big,
			BigUnseen: c.BigAbsent, Unmapped: c.Unmapped, Unseen: unseen, Unread: c.Unread}
		bytes := u.NonPagedBytes + u.PagedBytes
		avg := max(bytes/uint64(tr), 1)
		if avg >= dumpfile.PageSize {
			k.Room = unseen / ((avg + dumpfile.PageSize - 1) / dumpfile.PageSize)
		} else {
			k.Room = unseen * (dumpfile.PageSize / avg)
		}
		k.judge(r.LFH, lacks)
		out = append(out, k)
	}
	return out
}

// judge decides the agreement. Found may exceed Tracker by the noise, and
// by the segment-heap blocks whose state the scan could not read (LFH
// blocks of subsegments whose bitmap was not read: lfh says why; VS
// blocks, which a lookaside list may hold after their free).
func (k *Check) judge(lfh LFHStats, lacks string) {
	slack := max(int64(float64(k.Tracker)*agreeSlack), agreeMinSlack)
	found := fmt.Sprintf("tracker %s, found %s in present pages", commas(k.Tracker), commas(k.Found-k.BigUnseen))
	if k.BigUnseen > 0 {
		found += fmt.Sprintf(" and %s big allocations in pages the dump does not hold", commas(k.BigUnseen))
	}
	missing := k.Tracker - k.Found
	pct := 100 * float64(k.Found) / float64(k.Tracker)
	switch {
	case missing > 0 && lacks != "":
		// Even a small shortfall proves nothing when the pool is not here.
		k.Agreement = Unconfirmed
		k.Text = fmt.Sprintf("%s (%s): %s: unconfirmed", found, percent(pct), lacks)
	case missing <= slack && -missing <= slack+k.Unread:
		k.Agreement = Consistent
		k.Text = found + ": consistent"
		if -missing > slack {
			k.Text += fmt.Sprintf(" (%s of the blocks found are segment-heap blocks whose state the scan cannot read, so it may count freed ones: %s)",
				commas(k.Unread), unreadWhy(lfh))
		}
	case missing < 0:
		k.Agreement = Suspect
		k.Text = fmt.Sprintf("%s: the scan finds %s more blocks in use than the tracker counts: the tracker figures are suspect", found, commas(-missing))
	case uint64(missing) <= k.Room:
		if float64(k.Found) >= unconfirmedAt*float64(k.Tracker) {
			k.Agreement = Consistent
			k.Text = fmt.Sprintf("%s; the other %s fit in the %s pages the dump does not show: consistent", found, commas(missing), commas(int64(k.Unseen)))
		} else {
			k.Agreement = Unconfirmed
			k.Text = fmt.Sprintf("%s (%.0f%%); the other %s could lie in the %s pages the dump does not show: unconfirmed", found, pct, commas(missing), commas(int64(k.Unseen)))
		}
	default:
		k.Agreement = Suspect
		k.Text = fmt.Sprintf("%s: the scan finds %s of what the tracker claims, and the %s pages the dump does not show cannot hold the other %s: the tracker figures are suspect",
			found, percent(pct), commas(int64(k.Unseen)), commas(missing))
	}
	if k.Unmapped > 0 {
		k.Text += fmt.Sprintf(" (%s more on pages the system does not map: stale or session space, not counted)", commas(k.Unmapped))
	}
}

// unreadWhy says why some segment-heap blocks' state is not read.
func unreadWhy(lfh LFHStats) string {
	why := "VS blocks, which a lookaside list can hold after their free with their headers"
	if !lfh.Keyed {
		return why + ", and LFH blocks (subsegment bitmaps not read: " + lfh.Why + ")"
	}
	return why + ", and LFH blocks of subsegments whose header the dump does not give or that do not decode"
}

func mib(b uint64) string {
	if b < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

func percent(p float64) string {
	if p < 1 && p > 0 {
		return "under 1%"
	}
	return fmt.Sprintf("%.0f%%", p)
}

// commas writes n with thousands separators.
func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}
