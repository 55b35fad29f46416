package pool_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/pooltag"
)

// sessionTags are desktop-heap and win32k tags with counts in both pools
// and values that fill a 32-bit counter.
func sessionTags(n int) []pool.Usage {
	us := []pool.Usage{
		{Tag: pooltag.MustTag("Gh05"), PagedAllocs: 90210, PagedFrees: 12, PagedBytes: 0xFFFF0000},
		{Tag: pooltag.MustTag("Gla5"), PagedAllocs: 400, PagedFrees: 100, PagedBytes: 300 * 128},
		{Tag: pooltag.MustTag("Usqm"), NonPagedAllocs: 7, NonPagedFrees: 2, NonPagedBytes: 5 * 64, PagedAllocs: 3, PagedBytes: 3 * 32},
	}
	for i := 0; i < n; i++ {
		tag := pooltag.MustTag("Gf" + string(rune('a'+i%26)) + string(rune('0'+i/26)))
		us = append(us, pool.Usage{Tag: tag, PagedAllocs: uint64(i + 1), PagedBytes: uint64(16 * (i + 1))})
	}
	return us
}

func sessionDump(t *testing.T, cfg dumptest.Config, ss []pooltest.SessionSpec) (*dumpfile.File, map[uint32][]pool.Usage) {
	t.Helper()
	b := dumptest.New(cfg)
	want, err := pooltest.PlantSessions(b, cfg, ss)
	if err != nil {
		t.Fatal(err)
	}
	f := pooltest.Open(t, b, "session.dmp")
	return f, want
}

func TestReadSessions(t *testing.T) {
	two := []pooltest.SessionSpec{
		{ID: 0, Processes: []string{"csrss.exe", "winlogon.exe"}, Tags: sessionTags(40)},
		{ID: 3, Processes: []string{"csrss.exe", "winlogon.exe", "rdpclip.exe"}, Tags: sessionTags(5)[:2]},
	}
	for _, c := range []struct {
		name   string
		arch   dumpfile.Arch
		build  uint32
		size   int    // entries: the table's bytes of entries, rounded down to a power of two
		inside uint64 // MM_SESSION_SPACE.PoolTags; 0: the table is two pages after the structure in session space
		// placed plants at this PoolTags offset of a build whose sources
		// leave it open; the reader must say the data chose it.
		placed int
	}{
		{"2003 x86 PAE", dumpfile.ArchX86PAE, 3790, 256, 0, 0},
		{"2003 x86", dumpfile.ArchX86, 3790, 256, 0, 0},
		{"Vista x86 PAE", dumpfile.ArchX86PAE, 6002, 256, 0, 0},
		{"Vista x86", dumpfile.ArchX86, 6000, 256, 0, 0},
		{"Vista / 2008 x64", dumpfile.ArchAMD64, 6001, 128, 0, 0},
		{"7 x86 PAE", dumpfile.ArchX86PAE, 7601, 256, 0, 0},
		{"7 x64", dumpfile.ArchAMD64, 7601, 128, 0, 0},
		{"8 / 2012 x64", dumpfile.ArchAMD64, 9200, 128, 0, 0},
		{"8.1 / 2012 R2 x64", dumpfile.ArchAMD64, 9600, 128, 0, 0},
		{"10 1507 x64", dumpfile.ArchAMD64, 10240, 128, 0, 0},
		{"10 1511 x64", dumpfile.ArchAMD64, 10586, 128, 0, 0},
		{"10 1607 x64", dumpfile.ArchAMD64, 14393, 128, 0x2000, 0},
		{"10 1703 x64", dumpfile.ArchAMD64, 15063, 128, 0x2000, 0},
		{"10 1709 x64", dumpfile.ArchAMD64, 16299, 128, 0x2000, 0},
		{"10 1803 x64", dumpfile.ArchAMD64, 17134, 128, 0x3000, 0},
		{"10 1809 x64", dumpfile.ArchAMD64, 17763, 128, 0x3000, 0},
		{"10 1903 x64", dumpfile.ArchAMD64, 18362, 128, 0x3000, 0},
		{"10 1909 x64", dumpfile.ArchAMD64, 18363, 128, 0x3000, 0},
		{"10 2004 x64, PoolTags[16384] at 0x1000", dumpfile.ArchAMD64, 19041, 256, 0x1000, 0x1000},
		{"10 2004 x64, PoolTags[8192] at 0x3000", dumpfile.ArchAMD64, 19041, 128, 0x3000, 0x3000},
		{"10 22H2 x64, PoolTags[16384] at 0x1000", dumpfile.ArchAMD64, 19045, 256, 0x1000, 0x1000},
		{"10 21H2 x64, PoolTags[8192] at 0x3000", dumpfile.ArchAMD64, 19044, 128, 0x3000, 0x3000},
		{"10 1607 x86 PAE", dumpfile.ArchX86PAE, 14393, 256, 0x3000, 0},
		{"10 1703 x86 PAE", dumpfile.ArchX86PAE, 15063, 256, 0x5000, 0},
		{"10 1709 x86 PAE", dumpfile.ArchX86PAE, 16299, 128, 0x5000, 0},
		{"10 1803 x86 PAE", dumpfile.ArchX86PAE, 17134, 128, 0x5000, 0},
		{"10 1809 x86 PAE", dumpfile.ArchX86PAE, 17763, 128, 0x5000, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := dumptest.Config{Arch: c.arch, Build: c.build, Seed: 7}
			ss := append([]pooltest.SessionSpec(nil), two...)
			for i := range ss {
				ss[i].TableAt = c.placed
			}
			f, want := sessionDump(t, cfg, ss)
			got := pool.ReadSessions(f)
			if !got.Read {
				t.Fatalf("not read: %s", got.Reason)
			}
			if placed := fmt.Sprintf("chosen by the data, not the symbols: PoolTags at %#x", c.placed); c.placed != 0 && !strings.Contains(got.Placement, placed) {
				t.Errorf("placement %q; want it to say %q", got.Placement, placed)
			} else if follows := "chosen by the data, not the symbols: the table after MM_SESSION_SPACE's pages in session space"; followsBuild(c.build) && !strings.Contains(got.Placement, follows) {
				// 8 to 10 1511: no source places the table; the data must.
				t.Errorf("placement %q; want it to say %q", got.Placement, follows)
			} else if c.placed == 0 && !followsBuild(c.build) && got.Placement != "" {
				t.Errorf("placement %q on a build whose sources place the table", got.Placement)
			}
			if len(got.Sessions) != len(two) {
				t.Fatalf("%d sessions, want %d", len(got.Sessions), len(two))
			}
			for i, s := range got.Sessions {
				if s.ID != two[i].ID || !reflect.DeepEqual(s.Processes, two[i].Processes) {
					t.Errorf("session %d: ID %d, processes %v; want %d, %v", i, s.ID, s.Processes, two[i].ID, two[i].Processes)
				}
				if len(s.Missing) > 0 {
					t.Errorf("session %d: missing %v", s.ID, s.Missing)
				}
				at := s.Space + 2*dumptest.PageSize
				if c.inside != 0 {
					at = s.Struct + c.inside
				}
				if s.TableSize != c.size || s.Table != at || s.Table == 0 {
					t.Errorf("session %d: table %#x of %d entries (structure %#x, space %#x); want %d entries at %#x", s.ID, s.Table, s.TableSize, s.Struct, s.Space, c.size, at)
				}
				if !reflect.DeepEqual(s.Usages, want[s.ID]) {
					t.Errorf("session %d usages:\n got %v\nwant %v", s.ID, s.Usages, want[s.ID])
				}
			}
		})
	}
}

// Processes outside any session (System, then smss.exe, which creates
// session 0) are on the list but in no session's process list.
func TestReadSessionsSessionlessProcesses(t *testing.T) {
	for _, c := range []struct {
		name  string
		arch  dumpfile.Arch
		build uint32
	}{
		{"2003 x86 PAE", dumpfile.ArchX86PAE, 3790},
		{"10 1809 x64", dumpfile.ArchAMD64, 17763},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := dumptest.Config{Arch: c.arch, Build: c.build, Seed: 5}
			b := dumptest.New(cfg)
			b.AddProcess("smss.exe")
			ss := []pooltest.SessionSpec{
				{ID: 0, Processes: []string{"csrss.exe", "winlogon.exe"}, Tags: sessionTags(3)},
				{ID: 1, Processes: []string{"csrss.exe", "rdpclip.exe"}, Tags: sessionTags(2)},
			}
			want, err := pooltest.PlantSessions(b, cfg, ss)
			if err != nil {
				t.Fatal(err)
			}
			got := pool.ReadSessions(pooltest.Open(t, b, "sessionless.dmp"))
			if !got.Read || len(got.Sessions) != len(ss) {
				t.Fatalf("Read %v (%s), %d sessions; want %d", got.Read, got.Reason, len(got.Sessions), len(ss))
			}
			for i, s := range got.Sessions {
				if s.ID != ss[i].ID || !reflect.DeepEqual(s.Processes, ss[i].Processes) || !reflect.DeepEqual(s.Usages, want[s.ID]) {
					t.Errorf("session %d: ID %d, processes %v, usages %v; want %d, %v, %v", i, s.ID, s.Processes, s.Usages, ss[i].ID, ss[i].Processes, want[ss[i].ID])
				}
			}
		})
	}
}

func TestReadSessionsMissing(t *testing.T) {
	for _, c := range []struct {
		name     string
		cfg      dumptest.Config
		sessions []pooltest.SessionSpec
		reason   string // "" when read
		missing  string // in the session's Missing
	}{
		{name: "build without a layout", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 20348},
			reason: "session pool: not read on this build (x64, build 20348)"},
		{name: "no session processes", cfg: dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 3790},
			reason: "session pool: not read: the active process list is empty"},
		{name: "tracker absent", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 7600},
			sessions: []pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(3), Absent: true}},
			missing:  "session tracker table: 0x1400 bytes at 0xfffff90000002000: physical page absent from the dump"},
		{name: "PoolTags absent", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 17763},
			sessions: []pooltest.SessionSpec{{ID: 2, Processes: []string{"csrss.exe"}, Tags: sessionTags(3), Absent: true}},
			missing:  "session tracker table: 0x1c00 bytes at 0xffffc28000033000: physical page absent from the dump"},
		{name: "build between the rows", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 16353},
			reason: "session pool: not read on this build (x64, build 16353)"},
		{name: "Windows 8.1: no session processes", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 9600},
			reason: "session pool: not read: the active process list is empty"},
		{name: "Windows XP: no per-session tracker", cfg: dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 2600},
			reason: "session pool: not read on this build (x86 (PAE), build 2600, x86 Windows XP): its kernel keeps no per-session pool tracker"},
		{name: "Server 2003 x64: no source", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 3790},
			reason: "session pool: not read on this build (x64, build 3790): its session tracker layout is known only for"},
		{name: "Windows 11 23H2: no session pool", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 22631},
			reason: "session pool: not read on this build (x64, build 22631, x64 Windows 11 22H2 / 23H2): its MM_SESSION_SPACE has no session pool"},
		{name: "Windows 11 22H2: 23H2's kernel, no session pool", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 22621},
			reason: "session pool: not read on this build (x64, build 22621, x64 Windows 11 22H2 / 23H2): its MM_SESSION_SPACE has no session pool"},
		{name: "Windows 11 21H2: no source for its structure", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 22000},
			reason: "session pool: not read on this build (x64, build 22000): its session tracker layout is known only for"},
		{name: "Windows 11 24H2: no structure in the symbols", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 26100},
			reason: "session pool: not read on this build (x64, build 26100, x64 Windows 11 24H2): MM_SESSION_SPACE was replaced by _PSP_SESSION_SPACE"},
		{name: "1703 PoolTags absent", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 15063},
			sessions: []pooltest.SessionSpec{{ID: 2, Processes: []string{"csrss.exe"}, Tags: sessionTags(3), Absent: true}},
			missing:  "session tracker table: 0x1400 bytes at 0xffffc28000032000: physical page absent from the dump"},
		{name: "1809 x86 PoolTags absent", cfg: dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 17763},
			sessions: []pooltest.SessionSpec{{ID: 2, Processes: []string{"csrss.exe"}, Tags: sessionTags(3), Absent: true}},
			missing:  "session tracker table: 0x1800 bytes at 0x9e035000: physical page absent from the dump"},
		{name: "1903 x86: sources disagree on EPROCESS", cfg: dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 18362},
			reason: "session pool: not read on this build (x86 (PAE), build 18362)"},
		{name: "1903 PoolTags absent", cfg: dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 18362},
			sessions: []pooltest.SessionSpec{{ID: 2, Processes: []string{"csrss.exe"}, Tags: sessionTags(3), Absent: true}},
			missing:  "session tracker table: 0x1c00 bytes at 0xffffc28000033000: physical page absent from the dump"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, _ := sessionDump(t, c.cfg, c.sessions)
			got := pool.ReadSessions(f)
			if c.reason != "" {
				if got.Read || !strings.HasPrefix(got.Reason, c.reason) || strings.Contains(got.Reason, "\n") {
					t.Fatalf("Read %v, reason %q; want one line starting %q", got.Read, got.Reason, c.reason)
				}
				return
			}
			if !got.Read || len(got.Sessions) != 1 {
				t.Fatalf("Read %v (%s), %d sessions", got.Read, got.Reason, len(got.Sessions))
			}
			s := got.Sessions[0]
			if len(s.Usages) != 0 || !strings.Contains(strings.Join(s.Missing, "; "), c.missing) {
				t.Errorf("usages %v, missing %q; want none and %q", s.Usages, s.Missing, c.missing)
			}
		})
	}
}

// Damaged process lists and page tables end the read with one line or a
// named gap, never a hang or a panic.
func TestReadSessionsDamaged(t *testing.T) {
	cfg := dumptest.Config{Arch: dumpfile.ArchX86PAE, Build: 3790, Seed: 3}
	const links, session, dtb = 0x98, 0x160, 0x18 // EPROCESS, Server 2003 SP1 (the builder's own row)
	for _, c := range []struct {
		name    string
		damage  func(b *dumptest.Builder, head uint64)
		reason  string // Reason prefix when nothing is read
		missing string // else: in the first session's Missing
	}{
		{"list loops", func(b *dumptest.Builder, head uint64) {
			last := b.ReadPtr(head + 4)
			b.PutPtr(last, last) // the last process links to itself, never back to the head
		}, "session pool: not read: the active process list loops", ""},
		{"link into nowhere", func(b *dumptest.Builder, head uint64) {
			b.PutPtr(b.ReadPtr(head), b.UnmappedAddr())
		}, "session pool: not read: EPROCESS at", ""},
		{"first process is not System", func(b *dumptest.Builder, head uint64) {
			first := b.ReadPtr(head) - links
			b.Write(first+0x164, []byte("Idle\x00"))
		}, "session pool: not read: the first process does not read as System", ""},
		{"page directory absent", func(b *dumptest.Builder, head uint64) {
			second := b.ReadPtr(b.ReadPtr(head)) - links
			b.PutU32(second+dtb, 0x7FFFF000)
		}, "", "the session's page directory (DirectoryTableBase 0x7ffff000) is not in the dump"},
		{"session structure elsewhere", func(b *dumptest.Builder, head uint64) {
			second := b.ReadPtr(b.ReadPtr(head)) - links
			b.PutPtr(second+session, b.Alloc(dumptest.PageSize, dumptest.PageSize))
		}, "", "maps MM_SESSION_SPACE"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := dumptest.New(cfg)
			if _, err := pooltest.PlantSessions(b, cfg, []pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(2)}}); err != nil {
				t.Fatal(err)
			}
			head, _ := b.Symbol("PsActiveProcessHead")
			c.damage(b, head)
			got := pool.ReadSessions(pooltest.Open(t, b, "damaged.dmp"))
			if c.reason != "" {
				if got.Read || !strings.HasPrefix(got.Reason, c.reason) {
					t.Fatalf("Read %v, reason %q; want %q", got.Read, got.Reason, c.reason)
				}
				return
			}
			if !got.Read || len(got.Sessions) != 1 || len(got.Sessions[0].Usages) != 0 ||
				!strings.Contains(strings.Join(got.Sessions[0].Missing, "; "), c.missing) {
				t.Fatalf("Read %v (%s), sessions %+v; want missing %q", got.Read, got.Reason, got.Sessions, c.missing)
			}
		})
	}
}

// Windows 10 1607 to 1903 keep the table inside MM_SESSION_SPACE: a
// structure that is not there, bytes there that are not a tracker table,
// or EPROCESS offsets that are not the kernel's leave the session unread
// with the reason named.
func TestReadSessionsPoolTagsDamaged(t *testing.T) {
	// misplaced puts 40 keys in slots 0-39 whatever their hash, entries of
	// the build's POOL_TRACKER_TABLE (Key at 0; x64 0x28 bytes up to 1703,
	// 0x38 from 1709 on; x86 0x1C and 0x30).
	misplaced := func(entry int) []byte {
		b := make([]byte, 2*dumptest.PageSize)
		for i := 0; i < 40; i++ {
			copy(b[i*entry:], "Gq"+string(rune('a'+i%26))+string(rune('0'+i/26)))
			b[i*entry+0x10] = 1 // a count beside each key
		}
		return b
	}
	for _, c := range []struct {
		name    string
		arch    dumpfile.Arch
		build   uint32
		tracker []byte
		damage  func(b *dumptest.Builder, head uint64)
		missing string
	}{
		{"keys where no hash puts them", dumpfile.ArchAMD64, 17763, misplaced(0x38), nil, "are not a session tracker table"},
		{"keys where no hash puts them", dumpfile.ArchAMD64, 14393, misplaced(0x28), nil, "are not a session tracker table"},
		{"keys where no hash puts them", dumpfile.ArchAMD64, 15063, misplaced(0x28), nil, "are not a session tracker table"},
		{"keys where no hash puts them", dumpfile.ArchAMD64, 18362, misplaced(0x38), nil, "are not a session tracker table"},
		{"Session points nowhere", dumpfile.ArchAMD64, 14393, nil, func(b *dumptest.Builder, head uint64) {
			second := b.ReadPtr(b.ReadPtr(head)) - 0x2F0 // ActiveProcessLinks, 1607
			b.PutPtr(second+0x400, b.UnmappedAddr())
		}, "unreadable"},
		{"Session points nowhere", dumpfile.ArchAMD64, 18362, nil, func(b *dumptest.Builder, head uint64) {
			second := b.ReadPtr(b.ReadPtr(head)) - 0x2E8 // ActiveProcessLinks, 1703 to 1903
			b.PutPtr(second+0x400, b.UnmappedAddr())
		}, "unreadable"},
		{"keys where no hash puts them", dumpfile.ArchX86PAE, 14393, misplaced(0x1C), nil, "are not a session tracker table"},
		{"keys where no hash puts them", dumpfile.ArchX86PAE, 15063, misplaced(0x1C), nil, "are not a session tracker table"},
		{"keys where no hash puts them", dumpfile.ArchX86PAE, 17763, misplaced(0x30), nil, "are not a session tracker table"},
		{"Session points nowhere", dumpfile.ArchX86PAE, 17763, nil, func(b *dumptest.Builder, head uint64) {
			second := b.ReadPtr(b.ReadPtr(head)) - 0xB8 // ActiveProcessLinks, x86 1607 to 1809
			b.PutPtr(second+0x150, b.UnmappedAddr())
		}, "unreadable"},
		// EPROCESS.Session one page into the structure: mapped, readable,
		// and not a session structure (its ProcessList is no list head).
		{"Session inside its structure", dumpfile.ArchAMD64, 17763, nil, func(b *dumptest.Builder, head uint64) {
			second := b.ReadPtr(b.ReadPtr(head)) - 0x2E8
			b.PutPtr(second+0x400, b.ReadPtr(second+0x400)+0x1000)
		}, "is not a session structure: its ProcessList at"},
		{"Session inside its structure", dumpfile.ArchX86PAE, 15063, nil, func(b *dumptest.Builder, head uint64) {
			second := b.ReadPtr(b.ReadPtr(head)) - 0xB8
			b.PutPtr(second+0x150, b.ReadPtr(second+0x150)+0x2000)
		}, "is not a session structure: its ProcessList at"},
		{"Session 0x10 past its structure", dumpfile.ArchAMD64, 18362, nil, func(b *dumptest.Builder, head uint64) {
			second := b.ReadPtr(b.ReadPtr(head)) - 0x2E8
			b.PutPtr(second+0x400, b.ReadPtr(second+0x400)+0x10) // its ProcessList read where the structure has zeros
		}, "is not a session structure"},
		// Offsets that are not this kernel's: the first process must read
		// as System.
		{"first process not System", dumpfile.ArchAMD64, 17134, nil, func(b *dumptest.Builder, head uint64) {
			first := b.ReadPtr(head) - 0x2E8
			b.Write(first+0x450, []byte("Idle\x00"))
		}, ""},
	} {
		t.Run(fmt.Sprintf("%s %v %d", c.name, c.arch, c.build), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: c.arch, Build: c.build, Seed: 5})
			b.AddSession(dumptest.Session{ID: 4, Processes: []string{"csrss.exe"}, Tracker: c.tracker})
			if c.damage != nil {
				head, _ := b.Symbol("PsActiveProcessHead")
				c.damage(b, head)
			}
			got := pool.ReadSessions(pooltest.Open(t, b, "damaged.dmp"))
			if c.missing == "" {
				const want = "session pool: not read: the first process does not read as System"
				if got.Read || !strings.HasPrefix(got.Reason, want) {
					t.Fatalf("Read %v, reason %q; want %q", got.Read, got.Reason, want)
				}
				return
			}
			if !got.Read || len(got.Sessions) != 1 || len(got.Sessions[0].Usages) != 0 ||
				!strings.Contains(strings.Join(got.Sessions[0].Missing, "; "), c.missing) {
				t.Fatalf("Read %v (%s), sessions %+v; want no usages and missing %q", got.Read, got.Reason, got.Sessions, c.missing)
			}
		})
	}
}

// A session whose fixed table is full: the tags that came later are read
// from the expansion table (Vista and later) and named as such, or found
// under Ovfl in the table's last entry (Server 2003, which keeps no
// expansion). Absent expansion pages and a hostile size are named, and
// the tags of the fixed table still read.
func TestReadSessionsExpansion(t *testing.T) {
	for _, c := range []struct {
		name    string
		arch    dumpfile.Arch
		build   uint32
		size    int // the fixed table's entries
		extra   int // tags past the size - 1 free slots
		spec    pooltest.SessionSpec
		missing string // "" when nothing may be missing
		fixed   bool   // only the fixed table's tags are read
	}{
		{name: "2003 x86 Ovfl", arch: dumpfile.ArchX86PAE, build: 3790, size: 256, extra: 9},
		{name: "Vista x86", arch: dumpfile.ArchX86PAE, build: 6002, size: 256, extra: 30},
		{name: "2008 x64", arch: dumpfile.ArchAMD64, build: 6001, size: 128, extra: 30},
		{name: "Vista x64 in system space", arch: dumpfile.ArchAMD64, build: 6000, size: 128, extra: 5,
			spec: pooltest.SessionSpec{ExpansionInSystem: true}},
		{name: "7 x86", arch: dumpfile.ArchX86PAE, build: 7601, size: 256, extra: 30},
		{name: "7 x86 non-PAE", arch: dumpfile.ArchX86, build: 7600, size: 256, extra: 5},
		{name: "7 x64", arch: dumpfile.ArchAMD64, build: 7601, size: 128, extra: 30},
		{name: "10 1607 x64", arch: dumpfile.ArchAMD64, build: 14393, size: 128, extra: 30},
		{name: "10 1809 x64", arch: dumpfile.ArchAMD64, build: 17763, size: 128, extra: 80},
		{name: "10 1703 x64", arch: dumpfile.ArchAMD64, build: 15063, size: 128, extra: 7},
		{name: "10 1709 x64", arch: dumpfile.ArchAMD64, build: 16299, size: 128, extra: 7},
		{name: "10 1803 x64", arch: dumpfile.ArchAMD64, build: 17134, size: 128, extra: 7},
		{name: "10 1903 x64", arch: dumpfile.ArchAMD64, build: 18362, size: 128, extra: 7},
		{name: "10 1607 x86", arch: dumpfile.ArchX86PAE, build: 14393, size: 256, extra: 20},
		{name: "10 1703 x86", arch: dumpfile.ArchX86PAE, build: 15063, size: 256, extra: 40},
		{name: "10 1709 x86", arch: dumpfile.ArchX86PAE, build: 16299, size: 128, extra: 20},
		{name: "10 1803 x86", arch: dumpfile.ArchX86PAE, build: 17134, size: 128, extra: 90},
		{name: "10 1809 x86 in system space", arch: dumpfile.ArchX86PAE, build: 17763, size: 128, extra: 9,
			spec: pooltest.SessionSpec{ExpansionInSystem: true}},
		{name: "7 x64 in system space", arch: dumpfile.ArchAMD64, build: 7601, size: 128, extra: 30,
			spec: pooltest.SessionSpec{ExpansionInSystem: true}},
		{name: "1809 in system space", arch: dumpfile.ArchAMD64, build: 17763, size: 128, extra: 100,
			spec: pooltest.SessionSpec{ExpansionInSystem: true}},
		{name: "7 x64 second page absent", arch: dumpfile.ArchAMD64, build: 7601, size: 128, extra: 150,
			spec:    pooltest.SessionSpec{ExpansionAbsent: []int{1}},
			missing: "session expansion table: 0xfe0 bytes at 0xfffff90000005000: physical page absent from the dump"},
		{name: "1607 all absent", arch: dumpfile.ArchAMD64, build: 14393, size: 128, extra: 20,
			spec:    pooltest.SessionSpec{ExpansionAbsent: []int{0}},
			missing: "session expansion table: 0xff0 bytes at 0xffffc28000024000: physical page absent from the dump"},
		{name: "7 x86 hostile size", arch: dumpfile.ArchX86PAE, build: 7601, size: 256, extra: 12,
			spec:    pooltest.SessionSpec{ExpansionSize: 0xFFFFFFF0},
			missing: "PoolTrackTableExpansionSize 4294967280 at 0x", fixed: true},
		{name: "1809 hostile size", arch: dumpfile.ArchAMD64, build: 17763, size: 128, extra: 12,
			spec:    pooltest.SessionSpec{ExpansionSize: 1 << 40},
			missing: "is more than 16384 entries: not believed", fixed: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := dumptest.Config{Arch: c.arch, Build: c.build, Seed: 11}
			spec := c.spec
			spec.ID, spec.Processes, spec.Tags = 1, []string{"csrss.exe", "winlogon.exe"}, sessionTags(c.size-1+c.extra-3)
			b := dumptest.New(cfg)
			wants, err := pooltest.PlantSessionsWant(b, cfg, []pooltest.SessionSpec{spec})
			if err != nil {
				t.Fatal(err)
			}
			want := wants[1]
			got := pool.ReadSessions(pooltest.Open(t, b, "full.dmp"))
			if !got.Read || len(got.Sessions) != 1 {
				t.Fatalf("Read %v (%s), %d sessions", got.Read, got.Reason, len(got.Sessions))
			}
			s := got.Sessions[0]
			missing := strings.Join(s.Missing, "; ")
			if c.missing == "" && missing != "" || !strings.Contains(missing, c.missing) {
				t.Errorf("missing %q; want %q", missing, c.missing)
			}
			if !s.Full || s.TableSize != c.size {
				t.Errorf("Full %v, %d entries; want full, %d", s.Full, s.TableSize, c.size)
			}
			wantUsages, wantExp := want.Usages, want.Expansion
			if c.fixed {
				inExp := map[pooltag.Tag]bool{}
				for _, g := range want.Expansion {
					inExp[g] = true
				}
				wantUsages = nil
				for _, u := range want.Usages {
					if !inExp[u.Tag] {
						wantUsages = append(wantUsages, u)
					}
				}
				wantExp = nil
			}
			if len(s.Usages) != len(wantUsages) || !reflect.DeepEqual(s.Usages, wantUsages) {
				t.Errorf("%d usages, want %d:\n got %v\nwant %v", len(s.Usages), len(wantUsages), s.Usages, wantUsages)
			}
			if !reflect.DeepEqual(s.ExpansionTags, wantExp) {
				t.Errorf("expansion tags %v, want %v", s.ExpansionTags, wantExp)
			}
			if c.build == 3790 {
				ovfl := false
				for _, u := range s.Usages {
					ovfl = ovfl || u.Tag == pooltag.MustTag("Ovfl") && u.PagedAllocs > 0
				}
				if s.Expansion != 0 || s.ExpansionTags != nil || !ovfl {
					t.Errorf("2003: expansion %#x, tags %v, Ovfl counted %v; want none, none and Ovfl", s.Expansion, s.ExpansionTags, ovfl)
				}
			} else if s.Expansion == 0 || s.ExpansionSize == 0 {
				t.Errorf("expansion %#x of %d entries", s.Expansion, s.ExpansionSize)
			}
		})
	}
}

// Expansion tables the kernel could not have written are named and not
// counted: a key past the first empty entry (its linear search never
// leaves a gap), keys that are not pool tags.
func TestReadSessionsExpansionDamaged(t *testing.T) {
	entry := func(build uint32) int { // POOL_TRACKER_TABLE: 0x28 bytes up to 1703, 0x38 from 1709 on (x64)
		if build >= 16299 {
			return 0x38
		}
		return 0x28
	}
	for _, c := range []struct {
		name    string
		build   uint32
		keys    map[int]string // entry index: key
		missing string
	}{
		{"gap before a key", 7601, map[int]string{0: "Gfa0", 3: "Gfb0"}, "1 keys after its first empty entry (1)"},
		{"gap before a key", 17763, map[int]string{2: "Gfa0"}, "1 keys after its first empty entry (0)"},
		{"not a tag", 14393, map[int]string{0: "G\x01\x02\x03"}, "keys that are not pool tags"},
	} {
		t.Run(fmt.Sprintf("%s %d", c.name, c.build), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: c.build, Seed: 5})
			es := entry(c.build)
			exp := make([]byte, dumptest.PageSize/es*es)
			for i, k := range c.keys {
				copy(exp[i*es:], k)
				exp[i*es+0x18] = 1 // a count beside each key
			}
			b.AddSession(dumptest.Session{ID: 4, Processes: []string{"csrss.exe"}, Expansion: exp, ExpansionSize: uint64(dumptest.PageSize / es)})
			got := pool.ReadSessions(pooltest.Open(t, b, "damaged.dmp"))
			if !got.Read || len(got.Sessions) != 1 {
				t.Fatalf("Read %v (%s), %d sessions", got.Read, got.Reason, len(got.Sessions))
			}
			s := got.Sessions[0]
			if len(s.Usages) != 0 || s.ExpansionTags != nil || s.Expansion == 0 ||
				!strings.Contains(strings.Join(s.Missing, "; "), c.missing) {
				t.Errorf("usages %v, expansion %#x tags %v, missing %q; want none read and %q", s.Usages, s.Expansion, s.ExpansionTags, s.Missing, c.missing)
			}
		})
	}
}

// Windows 10 2004-22H2: the sources leave PoolTags at 0x1000 (16384
// bytes) or 0x3000 (8192 bytes); a table the keys do not confirm at
// exactly one of them is not read, and the line says what each held.
func TestReadSessionsPlacement(t *testing.T) {
	for _, c := range []struct {
		name   string
		build  uint32
		ss     []pooltest.SessionSpec
		reason string // the Reason holds each of these
	}{
		{"empty table: no keys anywhere", 19041,
			[]pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}}},
			"no candidate placement of the tracker in MM_SESSION_SPACE is confirmed by the data|" +
				"PoolTags at 0x1000 (16384 bytes, 256 entries): 0 keys at their hash slots, 0 elsewhere, in 1 sessions|" +
				"PoolTags at 0x3000 (8192 bytes, 128 entries): 0 keys"},
		{"8192-byte table at 0x1000", 19042,
			[]pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(40), TableAt: 0x1000, TableBytes: 0x2000}},
			"no candidate placement of the tracker in MM_SESSION_SPACE is confirmed by the data|PoolTags at 0x1000 (16384 bytes, 256 entries)"},
		{"16384-byte table at 0x3000", 19043,
			[]pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(60), TableAt: 0x3000, TableBytes: 0x4000}},
			"no candidate placement of the tracker in MM_SESSION_SPACE is confirmed by the data|, the first half of a larger table"},
		{"too few keys", 19045,
			[]pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(5)[:3]}},
			"no candidate placement|(8 keys at their hash slots needed)"},
		// 8.1 / 2012 R2: the table after the structure's pages is read only
		// when its keys confirm it.
		{"8 table absent", 9200,
			[]pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(40), Absent: true}},
			"session pool: not read on this build (x64, build 9200, x64 Windows 8 / Server 2012): no candidate placement|0 keys at their hash slots, 0 elsewhere, in 0 sessions"},
		{"1507 table absent", 10240,
			[]pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(40), Absent: true}},
			"session pool: not read on this build (x64, build 10240, x64 Windows 10 1507): no candidate placement|0 keys at their hash slots, 0 elsewhere, in 0 sessions"},
		{"1511 table absent", 10586,
			[]pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(40), Absent: true}},
			"session pool: not read on this build (x64, build 10586, x64 Windows 10 1511): no candidate placement|0 keys at their hash slots, 0 elsewhere, in 0 sessions"},
		{"8.1 table absent", 9600,
			[]pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(40), Absent: true}},
			"session pool: not read on this build (x64, build 9600, x64 Windows 8.1 / Server 2012 R2): no candidate placement of the tracker is confirmed by the data|" +
				"the table after MM_SESSION_SPACE's pages in session space (as on Server 2003 to 7; 0 entries): 0 keys at their hash slots, 0 elsewhere, in 0 sessions"},
		{"8.1 too few keys", 9600,
			[]pooltest.SessionSpec{{ID: 1, Processes: []string{"csrss.exe"}, Tags: sessionTags(5)[:3]}, {ID: 2, Processes: []string{"csrss.exe"}, Tags: sessionTags(5)[:4]}},
			"no candidate placement of the tracker is confirmed|(8 keys at their hash slots needed)|(as on Server 2003 to 7; 128 entries): 7 keys at their hash slots, 0 elsewhere, in 2 sessions"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, _ := sessionDump(t, dumptest.Config{Arch: dumpfile.ArchAMD64, Build: c.build, Seed: 9}, c.ss)
			got := pool.ReadSessions(f)
			if got.Read || len(got.Sessions) != 0 || strings.Contains(got.Reason, "\n") {
				t.Fatalf("Read %v, %d sessions, reason %q; want nothing read, one line", got.Read, len(got.Sessions), got.Reason)
			}
			for _, want := range strings.Split(c.reason, "|") {
				if !strings.Contains(got.Reason, want) {
					t.Errorf("reason %q\nwant it to hold %q", got.Reason, want)
				}
			}
		})
	}
}

// followsBuild: the x64 builds (8 to 10 1511) whose table no source
// places, read after the structure's pages once the data confirms it.
func followsBuild(build uint32) bool {
	return build == 9200 || build == 9600 || build == 10240 || build == 10586
}

// 8 to 10 1511: keys in the table after the structure's pages that sit
// where no hash puts them do not confirm that placement: nothing is read,
// and the line says what the table held.
func TestReadSessionsFollowsMisplaced(t *testing.T) {
	const entry = 0x28 // POOL_TRACKER_TABLE, x64 up to 1703
	tracker := make([]byte, 2*dumptest.PageSize)
	for i := 0; i < 40; i++ {
		copy(tracker[i*entry:], "Gq"+string(rune('a'+i%26))+string(rune('0'+i/26)))
		tracker[i*entry+0x10] = 1
	}
	for _, build := range []uint32{9200, 9600, 10240, 10586} {
		t.Run(fmt.Sprint(build), func(t *testing.T) {
			b := dumptest.New(dumptest.Config{Arch: dumpfile.ArchAMD64, Build: build, Seed: 5})
			b.AddSession(dumptest.Session{ID: 4, Processes: []string{"csrss.exe"}, Tracker: tracker})
			got := pool.ReadSessions(pooltest.Open(t, b, "misplaced.dmp"))
			if got.Read || len(got.Sessions) != 0 || strings.Contains(got.Reason, "\n") {
				t.Fatalf("Read %v, %d sessions, reason %q; want nothing read, one line", got.Read, len(got.Sessions), got.Reason)
			}
			for _, want := range []string{"no candidate placement of the tracker is confirmed by the data", "(as on Server 2003 to 7; 128 entries)", " elsewhere, in 1 sessions"} {
				if !strings.Contains(got.Reason, want) {
					t.Errorf("reason %q\nwant it to hold %q", got.Reason, want)
				}
			}
			if strings.Contains(got.Reason, " 0 elsewhere") {
				t.Errorf("reason %q: the misplaced keys are not counted", got.Reason)
			}
		})
	}
}

// TestSessionProcessListMember: on the builds whose
// EPROCESS.SessionProcessLinks is sourced, the process through which a
// session is found must be on the session's ProcessList, walked back to
// its head; a Session pointer into another session's structure and a
// list that loops are named, the session not read.
func TestSessionProcessListMember(t *testing.T) {
	// ActiveProcessLinks, Session, DirectoryTableBase and
	// SessionProcessLinks per ntdiff/headers Win10_1607_RS1 and
	// Win10_1809_RS5 x64 and Win10_1703_RS2 x86 _EPROCESS.h.
	type offs struct {
		arch                        dumpfile.Arch
		links, session, dtb, member uint64
	}
	rows := map[uint32]offs{
		14393: {dumpfile.ArchAMD64, 0x2F0, 0x400, 0x28, 0x340},
		17763: {dumpfile.ArchAMD64, 0x2E8, 0x400, 0x28, 0x340},
		15063: {dumpfile.ArchX86PAE, 0xB8, 0x150, 0x18, 0xF0}, // x86 Win10_1703_RS2
	}
	// procs lists the EPROCESS addresses in active list order, System first.
	procs := func(b *dumptest.Builder, o offs) []uint64 {
		head, _ := b.Symbol("PsActiveProcessHead")
		var out []uint64
		for e := b.ReadPtr(head); e != head; e = b.ReadPtr(e) {
			out = append(out, e-o.links)
		}
		return out
	}
	for _, c := range []struct {
		name     string
		build    uint32
		sessions [][]string
		damage   func(b *dumptest.Builder, o offs, ep []uint64)
		missing  string // in the session's Missing; "": read
	}{
		{"normal", 17763, [][]string{{"csrss.exe"}, {"csrss.exe", "winlogon.exe", "explorer.exe"}}, nil, ""},
		{"normal", 14393, [][]string{{"csrss.exe", "winlogon.exe"}}, nil, ""},
		// Session 1's csrss.exe (ep[1]) names session 2's structure, with
		// its page directory: session 2 is found through a process that is
		// not on its list.
		{"Session pointer into another session's structure", 17763, [][]string{{"csrss.exe"}, {"csrss.exe", "winlogon.exe"}}, func(b *dumptest.Builder, o offs, ep []uint64) {
			b.PutPtr(ep[1]+o.session, b.ReadPtr(ep[2]+o.session))
			b.PutU64(ep[1]+o.dtb, b.ReadPtr(ep[2]+o.dtb))
		}, "does not hold csrss.exe, the process that names it"},
		{"normal", 15063, [][]string{{"csrss.exe"}, {"csrss.exe", "winlogon.exe"}}, nil, ""},
		{"Session pointer into another session's structure", 15063, [][]string{{"csrss.exe"}, {"csrss.exe", "winlogon.exe"}}, func(b *dumptest.Builder, o offs, ep []uint64) {
			b.PutPtr(ep[1]+o.session, b.ReadPtr(ep[2]+o.session))
			b.PutU32(ep[1]+o.dtb, uint32(b.ReadPtr(ep[2]+o.dtb)))
		}, "does not hold csrss.exe, the process that names it"},
		// a -> b -> c -> d -> head, c's Flink turned back to b: the head's
		// first and last entries still link back to it.
		{"list loops", 14393, [][]string{{"a.exe", "b.exe", "c.exe", "d.exe"}}, func(b *dumptest.Builder, o offs, ep []uint64) {
			b.PutPtr(ep[3]+o.member, ep[2]+o.member)
		}, "loops: entry"},
	} {
		t.Run(fmt.Sprintf("%s %d", c.name, c.build), func(t *testing.T) {
			o := rows[c.build]
			b := dumptest.New(dumptest.Config{Arch: o.arch, Build: c.build, Seed: 7})
			for i, p := range c.sessions {
				b.AddSession(dumptest.Session{ID: uint32(i + 1), Processes: p})
			}
			if c.damage != nil {
				c.damage(b, o, procs(b, o))
			}
			got := pool.ReadSessions(pooltest.Open(t, b, "members.dmp"))
			if !got.Read {
				t.Fatalf("not read: %s", got.Reason)
			}
			var missing []string
			for _, s := range got.Sessions {
				missing = append(missing, s.Missing...)
			}
			all := strings.Join(missing, "; ")
			if c.missing == "" {
				if len(got.Sessions) != len(c.sessions) || all != "" {
					t.Fatalf("%d sessions, missing %q; want %d and none", len(got.Sessions), all, len(c.sessions))
				}
				return
			}
			if !strings.Contains(all, "is not a session structure") || !strings.Contains(all, c.missing) {
				t.Fatalf("missing %q; want a session named not a session structure: %q", all, c.missing)
			}
		})
	}
}
