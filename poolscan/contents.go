package poolscan

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/pooltag"
)

// ContentOptions bound the work of reading blocks.
type ContentOptions struct {
	Sample   int               // blocks read per tag, spread evenly over those found (0: 2000)
	Hex      int               // sample blocks shown as hex dumps (0: 3)
	HexBytes int               // bytes per hex dump, header included (0: 128)
	Modules  []dumpfile.Module // loaded modules, to resolve pointers to module+offset
}

// SizeCount is one bar of the size histogram.
type SizeCount struct {
	Size   uint64 `json:"size"` // bytes, header included
	Blocks int64  `json:"blocks"`
}

// StringCount is a string found inside the blocks read.
type StringCount struct {
	Text   string  `json:"text"`
	UTF16  bool    `json:"utf16"`
	Blocks int     `json:"blocks"` // blocks read that contain it
	Share  float64 `json:"share"`  // of the blocks read
}

// PointerCount is where pointers inside the blocks lead.
type PointerCount struct {
	Target string      `json:"target"`           // "isil.sys", or "pool Irp " for blocks of another tag
	Module string      `json:"module,omitempty"` // module name, for pointers into an image
	Tag    pooltag.Tag `json:"-"`
	TagStr string      `json:"tag,omitempty"` // pool tag, for pointers into pool
	Blocks int         `json:"blocks"`        // blocks read holding at least one such pointer
	Share  float64     `json:"share"`
	// Example is one resolved pointer, e.g. "isil.sys+0x1a2b".
	Example string `json:"example"`
}

// HexSample is one block shown in full (up to HexBytes).
type HexSample struct {
	Addr  uint64 `json:"addr"`
	Size  uint64 `json:"size"`
	Bytes []byte `json:"bytes"`
	State string `json:"state"`
}

// Contents is what the blocks of one tag hold.
type Contents struct {
	Tag         pooltag.Tag    `json:"-"`
	TagStr      string         `json:"tag"`
	Blocks      int64          `json:"blocks"` // blocks found in use
	Read        int            `json:"read"`   // of them, read for what follows
	Sizes       []SizeCount    `json:"sizes"`  // all blocks found, by size
	Prefix      []byte         `json:"prefix"` // the most common first bytes after the header
	PrefixShare float64        `json:"prefix_share"`
	Strings     []StringCount  `json:"strings"`
	Pointers    []PointerCount `json:"pointers"`
	Samples     []HexSample    `json:"samples"`
}

const (
	minString   = 5
	maxStrings  = 12
	maxPointers = 10
	prefixLen   = 8
)

// ReadContents reads up to opt.Sample of the blocks of tag t the scan
// kept (spread evenly over them) and says what they hold; the sizes are
// those of every block of t found in use.
func ReadContents(f *dumpfile.File, r *Result, t pooltag.Tag, opt ContentOptions) *Contents {
	if opt.Sample <= 0 {
		opt.Sample = 2000
	}
	if opt.Hex <= 0 {
		opt.Hex = 3
	}
	if opt.HexBytes <= 0 {
		opt.HexBytes = 128
	}
	t = t.Unprotected()
	c := &Contents{Tag: t, TagStr: t.String()}
	k := r.keptOf(t)
	if k == nil {
		return c
	}
	c.Sizes = k.sizeCounts()
	for _, s := range c.Sizes {
		c.Blocks += s.Blocks
	}
	rd := &contentReader{f: f, opt: opt, is64: f.Arch().Is64(), res: newResolver(f, r, opt.Modules),
		prefixes: map[string]int{}, strs: map[stringKey]int{}, ptrs: map[string]*PointerCount{}}
	rd.hdr = headerLayouts[rd.is64].size
	stride := max(len(k.sample)/opt.Sample, 1)
	for i := 0; i < len(k.sample) && c.Read < opt.Sample; i += stride {
		rd.read(c, k.sample[i])
	}
	if c.Read > 0 {
		rd.finish(c)
	}
	return c
}

// contentReader gathers what the blocks read of one tag hold.
type contentReader struct {
	f        *dumpfile.File
	opt      ContentOptions
	is64     bool
	hdr      int
	res      *resolver
	prefixes map[string]int
	strs     map[stringKey]int
	ptrs     map[string]*PointerCount
}

// read reads block b, if the dump holds it, into c's counts.
func (rd *contentReader) read(c *Contents, b Block) {
	if !b.State.InDump() {
		return
	}
	raw := readBlock(rd.f, b, rd.hdr)
	if raw == nil {
		return
	}
	c.Read++
	body := raw
	if b.Kind != KindBig {
		body = raw[min(rd.hdr, len(raw)):]
	}
	if len(c.Samples) < rd.opt.Hex {
		c.Samples = append(c.Samples, HexSample{Addr: b.Addr, Size: b.Size, Bytes: raw[:min(len(raw), rd.opt.HexBytes)], State: b.State.String()})
	}
	if len(body) >= prefixLen {
		rd.prefixes[string(body[:prefixLen])]++
	}
	seen := map[stringKey]bool{}
	for _, s := range extractStrings(body) {
		for _, stem := range stems(s.text) {
			if k := (stringKey{stem, s.utf16}); !seen[k] {
				seen[k] = true
				rd.strs[k]++
			}
		}
	}
	rd.pointers(body)
}

// pointers counts the places the kernel addresses inside body lead to,
// once per block each.
func (rd *contentReader) pointers(body []byte) {
	hit := map[string]bool{}
	ps := 4
	if rd.is64 {
		ps = 8
	}
	for o := 0; o+ps <= len(body); o += ps {
		v := uint64(binary.LittleEndian.Uint32(body[o:]))
		if rd.is64 {
			v = binary.LittleEndian.Uint64(body[o:])
		}
		if !isKernelAddr(v, rd.is64) {
			continue
		}
		target, module, tag, example := rd.res.resolve(v)
		if target == "" || hit[target] {
			continue
		}
		hit[target] = true
		p := rd.ptrs[target]
		if p == nil {
			p = &PointerCount{Target: target, Module: module, Tag: tag, Example: example}
			if module == "" {
				p.TagStr = tag.String()
			}
			rd.ptrs[target] = p
		}
		p.Blocks++
	}
}

// finish turns the counts into c's shares, most common first.
func (rd *contentReader) finish(c *Contents) {
	best := ""
	for p, n := range rd.prefixes {
		if n > rd.prefixes[best] || (n == rd.prefixes[best] && p < best) {
			best = p
		}
	}
	if best != "" {
		c.Prefix, c.PrefixShare = []byte(best), float64(rd.prefixes[best])/float64(c.Read)
	}
	c.Strings = topStrings(rd.strs, c.Read)
	for _, p := range rd.ptrs {
		p.Share = float64(p.Blocks) / float64(c.Read)
		c.Pointers = append(c.Pointers, *p)
	}
	sort.Slice(c.Pointers, func(i, j int) bool {
		if c.Pointers[i].Blocks != c.Pointers[j].Blocks {
			return c.Pointers[i].Blocks > c.Pointers[j].Blocks
		}
		return c.Pointers[i].Target < c.Pointers[j].Target
	})
	if len(c.Pointers) > maxPointers {
		c.Pointers = c.Pointers[:maxPointers]
	}
}

// readBlock returns a block's bytes, header included (big: its first
// page at most), or nil when they cannot be read.
func readBlock(f *dumpfile.File, b Block, hdr int) []byte {
	n := int(min(b.Size, dumpfile.PageSize))
	if n < hdr {
		return nil
	}
	buf := make([]byte, n)
	var err error
	if b.Kind == KindBig {
		_, err = f.ReadVirtual(b.Addr, buf)
	} else {
		_, err = f.ReadPhysical(b.Phys, buf)
	}
	if err != nil {
		return nil
	}
	return buf
}

type stringKey struct {
	text  string
	utf16 bool
}

type foundString struct {
	text  string
	utf16 bool
}

// extractStrings finds runs of printable ASCII, as bytes and as UTF-16LE.
func extractStrings(b []byte) []foundString {
	var out []foundString
	start := -1
	for i := 0; i <= len(b); i++ {
		if i < len(b) && b[i] >= 0x20 && b[i] < 0x7F {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 && i-start >= minString {
			out = append(out, foundString{string(b[start:i]), false})
		}
		start = -1
	}
	for align := 0; align < 2; align++ {
		var sb []byte
		for i := align; i+1 < len(b)+1; i += 2 {
			if i+1 < len(b) && b[i+1] == 0 && b[i] >= 0x20 && b[i] < 0x7F {
				sb = append(sb, b[i])
				continue
			}
			if len(sb) >= minString {
				out = append(out, foundString{string(sb), true})
			}
			sb = sb[:0]
		}
	}
	return out
}

// stems returns the string and its leading path parts ("\Device\",
// "\Device\HarddiskVolume2\", ...), so that blocks naming different
// files under one directory are counted together.
func stems(s string) []string {
	out := []string{s}
	for i, n := 1, 0; i < len(s)-1 && n < 4; i++ {
		if s[i] == '\\' {
			n++
			if i+1 >= minString {
				out = append(out, s[:i+1])
			}
		}
	}
	return out
}

// topStrings keeps the most frequent strings; a stem is dropped when a
// longer string that starts with it is in as many blocks.
func topStrings(m map[stringKey]int, read int) []StringCount {
	var all []StringCount
	for k, n := range m {
		all = append(all, StringCount{Text: k.text, UTF16: k.utf16, Blocks: n, Share: float64(n) / float64(read)})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].Blocks != all[j].Blocks {
			return all[i].Blocks > all[j].Blocks
		}
		if len(all[i].Text) != len(all[j].Text) {
			return len(all[i].Text) > len(all[j].Text)
		}
		return all[i].Text < all[j].Text
	})
	var out []StringCount
	for _, s := range all {
		covered := false
		for _, o := range out {
			if o.Blocks == s.Blocks && o.UTF16 == s.UTF16 && strings.HasPrefix(o.Text, s.Text) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, s)
		}
		if len(out) == maxStrings {
			break
		}
	}
	return out
}

// resolver says what a kernel address points into.
type resolver struct {
	f       *dumpfile.File
	mods    []dumpfile.Module
	big     []Block // all big allocations, by address
	pages   map[uint64][]found
	pr      *pageReader
	all     *Matcher // every tag: a pointer may lead into any block
	segment bool
}

func newResolver(f *dumpfile.File, r *Result, mods []dumpfile.Module) *resolver {
	is64 := f.Arch().Is64()
	res := &resolver{f: f, mods: mods, pages: map[uint64][]found{}, pr: newPageReader(is64, f.MinorVersion), all: must(NewMatcher("*")), segment: r.segment}
	if r.bigFound {
		t := r.Big
		readBig(f, &t, r.bigLayout, is64, func(e bigEntry) {
			res.big = append(res.big, Block{Addr: e.va, Size: e.bytes, Tag: pooltag.Tag(e.key).Unprotected()})
		})
	}
	sort.Slice(res.big, func(i, j int) bool { return res.big[i].Addr < res.big[j].Addr })
	return res
}

func must(m *Matcher, err error) *Matcher {
	if err != nil {
		panic(err) // a constant pattern
	}
	return m
}

// resolve returns the aggregation key, module, pool tag and a readable
// example for a pointer; "" when it leads nowhere known.
func (res *resolver) resolve(v uint64) (target, module string, tag pooltag.Tag, example string) {
	for _, m := range res.mods {
		if v >= m.Base && v-m.Base < uint64(m.Size) {
			return m.Name, m.Name, 0, fmt.Sprintf("%s+%#x", m.Name, v-m.Base)
		}
	}
	if i := sort.Search(len(res.big), func(i int) bool { return res.big[i].Addr > v }) - 1; i >= 0 {
		if b := res.big[i]; v-b.Addr < max(b.Size, 1) {
			return "pool " + b.Tag.String(), "", b.Tag, fmt.Sprintf("%#x (+%#x in a big %s block)", v, v-b.Addr, b.Tag)
		}
	}
	page := v &^ (dumpfile.PageSize - 1)
	blocks, ok := res.pages[page]
	if !ok {
		if len(res.pages) > 4096 {
			clear(res.pages)
		}
		buf := make([]byte, dumpfile.PageSize)
		if _, err := res.f.ReadVirtual(page, buf); err == nil {
			if res.segment {
				bs, _ := res.pr.segment(buf, res.all)
				blocks = append([]found(nil), bs...)
			} else if bs, _ := res.pr.classic(buf); bs != nil {
				blocks = append([]found(nil), bs...)
			}
		}
		res.pages[page] = blocks
	}
	off := int(v - page)
	unit := res.pr.lay.unit
	for _, b := range blocks {
		if off >= b.off && off < b.off+int(b.h.blocks)*unit {
			if b.h.typ == 0 && !res.segment {
				return "free pool", "", 0, fmt.Sprintf("%#x (a free block)", v)
			}
			t := pooltag.Tag(b.h.tag).Unprotected()
			return "pool " + t.String(), "", t, fmt.Sprintf("%#x (+%#x in a %s block at %#x)", v, off-b.off, t, page+uint64(b.off))
		}
	}
	return "", "", 0, ""
}

// Hex formats b as a hex dump starting at addr, 16 bytes a line.
func Hex(addr uint64, b []byte) string {
	var sb strings.Builder
	for o := 0; o < len(b); o += 16 {
		line := b[o:min(o+16, len(b))]
		fmt.Fprintf(&sb, "%016x  ", addr+uint64(o))
		for i := 0; i < 16; i++ {
			if i < len(line) {
				fmt.Fprintf(&sb, "%02x ", line[i])
			} else {
				sb.WriteString("   ")
			}
			if i == 7 {
				sb.WriteByte(' ')
			}
		}
		sb.WriteString(" ")
		for _, ch := range line {
			if ch < 0x20 || ch >= 0x7F {
				ch = '.'
			}
			sb.WriteByte(ch)
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}
