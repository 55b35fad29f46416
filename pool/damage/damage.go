// Package damage changes bytes of a good dump the way a hostile user or a
// broken copy would, each kind in one precise place found through the
// dump's own structures (header, KDBG, tracker tables), so that tests and
// scripts can show what each kind of damage does to the answer.
package damage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// ErrDoesNotApply is what Apply's error wraps when the dump lacks what
// the kind damages (no per-CPU tables, an encoded KDBG, a bug check that
// is already the kind's, a tag the table does not hold): the dump is
// fine, the kind has nothing to change in it.
var ErrDoesNotApply = errors.New("the kind does not apply to this dump")

// notApplicable is a reason a kind does not apply; it is ErrDoesNotApply.
type notApplicable string

func (e notApplicable) Error() string        { return string(e) }
func (e notApplicable) Is(target error) bool { return target == ErrDoesNotApply }

// doesNotApply says why a kind does not apply.
func doesNotApply(format string, a ...any) error {
	return notApplicable(fmt.Sprintf(format, a...))
}

// Kind is one kind of damage.
type Kind struct {
	Name string
	What string
	// Apply changes d, a copy of the dump f was opened from.
	Apply func(f *dumpfile.File, d []byte) error
}

// Kinds lists every kind, in the order reports show them.
var Kinds = []Kind{
	{"cpus-zero", "NumberProcessors in the header set to 0", setCPUs(0)},
	{"cpus-huge", "NumberProcessors in the header set to 0xFFFFFFFF", setCPUs(0xFFFFFFFF)},
	{"percpu-page-zeroed", "the page of CPU 1's tracker table holding the largest nonpaged tag zeroed", zeroPerCPUPage(largest)},
	{"tracker-page-zeroed", "the page of the global tracker table holding the largest nonpaged tag zeroed", zeroGlobalPage(largest)},
	{"max-pointer-unreadable", "KDBG's MmMaximumNonPagedPoolInBytes pointer made to point at unmapped memory", kdbgField(dumptest.KDBGMmMaximumNonPagedPoolInBytes, func(uint64) uint64 { return 0x1000 })},
	{"kernbase-garbled", "KDBG's KernBase changed, so the kernel image (and ExPoolTagTables) cannot be found", kdbgField(dumptest.KDBGKernBase, func(v uint64) uint64 { return v ^ 0x00F0F000 })},
	{"table-size-word-zeroed", "the word before nt!PoolTrackTable (PoolTrackTableSize) zeroed, as on real Windows 10", zeroSizeWord},
	{"tracker-key-overwritten", "the key of the largest nonpaged tag in the global table overwritten", overwriteKey(largest)},
	{"tracker-bytes-inflated", "the nonpaged byte count of the largest nonpaged tag in the global table set to 1 TiB", inflateBytes(largest)},
	{"percpu-slot-nulled", "CPU 1's slot of ExPoolTagTables set to NULL", nullSlot},
	{"bugcheck-pool-corruption", "the header's bug check code set to 0x19 BAD_POOL_HEADER", setBugCheck(0x19)},
}

// SetBugCheck returns a copy of a dump with another bug check code in its
// header: a manual crash (0xE2) makes a sample whose verdict is not about
// corruption, to measure damage against.
func SetBugCheck(name string, good []byte, code uint32) ([]byte, error) {
	return Apply(name, good, Kind{Name: fmt.Sprintf("bugcheck-%#x", code), Apply: setBugCheck(code)})
}

func setBugCheck(code uint32) func(*dumpfile.File, []byte) error {
	return func(f *dumpfile.File, d []byte) error {
		off := 0x28 // DUMP_HEADER32.BugCheckCode
		if f.Is64 {
			off = 0x38
		}
		if f.BugCheckCode == code {
			return doesNotApply("the bug check is already %#x", code)
		}
		binary.LittleEndian.PutUint32(d[off:], code)
		return nil
	}
}

// aimed are the kinds that damage one tag's entry, by the function that
// makes them for the entry a finder gives.
var aimed = map[string]func(finder) func(*dumpfile.File, []byte) error{
	"percpu-page-zeroed":      zeroPerCPUPage,
	"tracker-page-zeroed":     zeroGlobalPage,
	"tracker-key-overwritten": overwriteKey,
	"tracker-bytes-inflated":  inflateBytes,
}

// At returns the kind named name aimed at tag's entry instead of the
// largest nonpaged tag's (so that a test can damage the leaking tag, or
// one beside it); false when no such kind aims at a tag.
func At(name string, tag pooltag.Tag) (Kind, bool) {
	mk, ok := aimed[name]
	if !ok {
		return Kind{}, false
	}
	k, _ := ByName(name)
	k.Name = name + "@" + strings.TrimRight(tag.String(), " ")
	k.What = strings.Replace(k.What, "the largest nonpaged tag", "tag "+tag.String(), 1)
	k.Apply = mk(byTag(tag))
	return k, true
}

// ByName returns the named kind.
func ByName(name string) (Kind, bool) {
	for _, k := range Kinds {
		if k.Name == name {
			return k, true
		}
	}
	return Kind{}, false
}

// Apply opens a copy of good, applies k and returns the damaged bytes.
// Its error wraps ErrDoesNotApply when the kind has nothing to change in
// the dump; any other error is the dump's or the reading's.
func Apply(name string, good []byte, k Kind) ([]byte, error) {
	f, err := dumpfile.NewFile(name, dumpfile.Bytes(good), int64(len(good)))
	if err != nil {
		return nil, err
	}
	d := slices.Clone(good)
	if err := k.Apply(f, d); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, k.Name, err)
	}
	return d, nil
}

func setCPUs(n uint32) func(*dumpfile.File, []byte) error {
	return func(f *dumpfile.File, d []byte) error {
		off := 0x24 // DUMP_HEADER32.NumberProcessors
		if f.Is64 {
			off = 0x34
		}
		binary.LittleEndian.PutUint32(d[off:], n)
		return nil
	}
}

// at returns the file offset of kernel virtual address va.
func at(f *dumpfile.File, va uint64) (int64, error) {
	pa, err := f.Translate(va)
	if err != nil {
		return 0, err
	}
	return f.FileOffset(pa)
}

func putPtr(f *dumpfile.File, d []byte, va, v uint64) error {
	off, err := at(f, va)
	if err != nil {
		return err
	}
	if f.Is64 {
		binary.LittleEndian.PutUint64(d[off:], v)
	} else {
		binary.LittleEndian.PutUint32(d[off:], uint32(v))
	}
	return nil
}

func kdbgField(field int, change func(uint64) uint64) func(*dumpfile.File, []byte) error {
	return func(f *dumpfile.File, d []byte) error {
		k, err := f.KDBG()
		if err != nil {
			return err
		}
		if k.Encoded || k.Addr == 0 {
			return doesNotApply("KDBG is encoded or not at a known address")
		}
		v, _ := k.U64(field)
		off, err := at(f, k.Addr+uint64(field))
		if err != nil {
			return err
		}
		binary.LittleEndian.PutUint64(d[off:], change(v))
		return nil
	}
}

// finder gives the analysis of a dump and the global table index of the
// entry to damage.
type finder func(f *dumpfile.File) (*pool.Result, int, error)

// byTag finds the index of tag's entry in the global table.
func byTag(tag pooltag.Tag) finder {
	return func(f *dumpfile.File) (*pool.Result, int, error) {
		r, err := pool.Analyze(f)
		if err != nil {
			return nil, 0, err
		}
		for i, u := range r.Global.Entries() {
			if u.Tag.Unprotected() == tag {
				return r, i, nil
			}
		}
		return nil, 0, doesNotApply("tag %s not in the global table", tag)
	}
}

// largest finds the index of the tag with the most nonpaged bytes in the
// summed result.
func largest(f *dumpfile.File) (*pool.Result, int, error) {
	r, err := pool.Analyze(f)
	if err != nil {
		return nil, 0, err
	}
	var top pool.Usage
	for _, u := range r.Usages {
		if u.NonPagedBytes > top.NonPagedBytes {
			top = u
		}
	}
	for i, u := range r.Global.Entries() {
		if u.Tag.Unprotected() == top.Tag && top.Tag != 0 {
			return r, i, nil
		}
	}
	return nil, 0, doesNotApply("no nonpaged tag in the global table")
}

func zeroPage(f *dumpfile.File, d []byte, va uint64) error {
	off, err := at(f, va&^(dumpfile.PageSize-1))
	if err != nil {
		return err
	}
	clear(d[off : off+dumpfile.PageSize])
	return nil
}

func zeroPerCPUPage(find finder) func(*dumpfile.File, []byte) error {
	return func(f *dumpfile.File, d []byte) error {
		r, i, err := find(f)
		if err != nil {
			return err
		}
		if len(r.PerCPU) < 2 {
			return doesNotApply("no per-CPU tables")
		}
		return zeroPage(f, d, r.PerCPU[1]+uint64(i*r.Layout.EntrySize))
	}
}

func zeroGlobalPage(find finder) func(*dumpfile.File, []byte) error {
	return func(f *dumpfile.File, d []byte) error {
		r, i, err := find(f)
		if err != nil {
			return err
		}
		return zeroPage(f, d, r.Global.Addr+uint64(i*r.Layout.EntrySize))
	}
}

func zeroSizeWord(f *dumpfile.File, d []byte) error {
	k, err := f.KDBG()
	if err != nil {
		return err
	}
	return putPtr(f, d, k.PoolTrackTable()-uint64(f.Arch().PointerSize()), 0)
}

func overwriteKey(find finder) func(*dumpfile.File, []byte) error {
	return func(f *dumpfile.File, d []byte) error {
		r, i, err := find(f)
		if err != nil {
			return err
		}
		off, err := at(f, r.Global.Addr+uint64(i*r.Layout.EntrySize))
		if err != nil {
			return err
		}
		copy(d[off:], "Zzzz")
		return nil
	}
}

func inflateBytes(find finder) func(*dumpfile.File, []byte) error {
	return func(f *dumpfile.File, d []byte) error {
		r, i, err := find(f)
		if err != nil {
			return err
		}
		e := r.Global.Addr + uint64(i*r.Layout.EntrySize)
		// Find the NonPagedBytes field by its value, whatever the layout.
		buf := make([]byte, r.Layout.EntrySize)
		if _, err := f.ReadVirtual(e, buf); err != nil {
			return err
		}
		want := r.Global.Entries()[i].NonPagedBytes
		for o := 4; o+4 <= len(buf); o += 4 {
			w := 4
			if r.Layout.EntrySize >= 0x28 {
				w = 8
				if o%8 != 0 {
					continue
				}
			}
			var v uint64
			if w == 8 && o+8 <= len(buf) {
				v = binary.LittleEndian.Uint64(buf[o:])
			} else {
				v = uint64(binary.LittleEndian.Uint32(buf[o:]))
			}
			if v != want || v == 0 {
				continue
			}
			off, err := at(f, e+uint64(o))
			if err != nil {
				return err
			}
			if w == 8 {
				binary.LittleEndian.PutUint64(d[off:], 1<<40)
			} else {
				binary.LittleEndian.PutUint32(d[off:], 0xF0000000)
			}
			return nil
		}
		return fmt.Errorf("nonpaged byte counter not found in entry %d", i)
	}
}

func nullSlot(f *dumpfile.File, d []byte) error {
	r, err := pool.Analyze(f)
	if err != nil {
		return err
	}
	if r.PerCPUArray == 0 {
		return doesNotApply("no per-CPU array")
	}
	return putPtr(f, d, r.PerCPUArray+uint64(f.Arch().PointerSize()), 0)
}
