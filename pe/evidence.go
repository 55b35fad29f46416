package pe

import (
	"fmt"
	"sort"

	"github.com/poolblame/poolblame/pooltag"
)

// EvidenceKind says how a driver was tied to a tag. Larger is stronger.
type EvidenceKind int

// The kinds of evidence, weakest first.
const (
	NoEvidence EvidenceKind = iota
	Bytes                   // the tag's four bytes occur in the file
	Immediate               // an instruction immediate equals the tag
	CallSite                // the tag is the tag argument of a pool routine call
)

var evidenceNames = [...]string{"none", "bytes", "immediate", "call-site"}

func (k EvidenceKind) String() string {
	if k >= 0 && int(k) < len(evidenceNames) {
		return evidenceNames[k]
	}
	return fmt.Sprintf("EvidenceKind(%d)", int(k))
}

// MarshalText names the kind in JSON output.
func (k EvidenceKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Evidence is what one driver holds for one tag. Counts overlap on purpose:
// a call-site immediate is also an immediate, and its bytes are also bytes.
type Evidence struct {
	CallSites  int      `json:"call_sites"`          // pool routine calls with the tag as tag argument
	Wrapped    int      `json:"wrapped,omitempty"`   // of CallSites, calls made through a local wrapper function
	Immediates int      `json:"immediates"`          // instruction immediates equal to the tag
	Bytes      int      `json:"bytes"`               // occurrences of the tag's bytes in the file
	Routines   []string `json:"routines,omitempty"`  // pool routines the tag was passed to
	Protected  bool     `json:"protected,omitempty"` // seen with the protected bit 0x80000000 set
}

// Kind returns the strongest kind of evidence present.
func (e Evidence) Kind() EvidenceKind {
	switch {
	case e.CallSites > 0:
		return CallSite
	case e.Immediates > 0:
		return Immediate
	case e.Bytes > 0:
		return Bytes
	}
	return NoEvidence
}

// Count is the number of occurrences of the strongest kind.
func (e Evidence) Count() int {
	switch e.Kind() {
	case CallSite:
		return e.CallSites
	case Immediate:
		return e.Immediates
	case Bytes:
		return e.Bytes
	}
	return 0
}

// stronger orders evidence strongest first: by kind, then by the counts of
// each kind from the strongest down.
func (e Evidence) stronger(o Evidence) bool {
	if a, b := e.Kind(), o.Kind(); a != b {
		return a > b
	}
	if e.CallSites != o.CallSites {
		return e.CallSites > o.CallSites
	}
	if e.Immediates != o.Immediates {
		return e.Immediates > o.Immediates
	}
	return e.Bytes > o.Bytes
}

// TagUse is one tag a driver uses, with its evidence.
type TagUse struct {
	Tag pooltag.Tag `json:"-"`
	Evidence
}

// TagString is the tag in display order.
func (u TagUse) TagString() string { return u.Tag.String() }

// codeUse is the code evidence for one tag, kept per driver.
type codeUse struct {
	tag        pooltag.Tag // unprotected
	callSites  int32
	wrapped    int32
	immediates int32
	routines   uint32 // bit i: poolRoutines[i]
	protected  bool
}

// tagEvidence is a driver's evidence in compact, sorted form: a catalog of
// hundreds of drivers keeps only these slices, never the files.
type tagEvidence struct {
	code       []codeUse     // sorted by tag
	byteTags   []pooltag.Tag // sorted, unprotected
	byteCounts []uint32      // parallel to byteTags
}

func (t *tagEvidence) lookup(tag pooltag.Tag) (Evidence, bool) {
	tag = tag.Unprotected()
	var e Evidence
	found := false
	if i := sort.Search(len(t.code), func(i int) bool { return t.code[i].tag >= tag }); i < len(t.code) && t.code[i].tag == tag {
		c := t.code[i]
		e.CallSites, e.Wrapped, e.Immediates = int(c.callSites), int(c.wrapped), int(c.immediates)
		e.Routines = routineNames(c.routines)
		e.Protected = c.protected
		found = true
	}
	if i := sort.Search(len(t.byteTags), func(i int) bool { return t.byteTags[i] >= tag }); i < len(t.byteTags) && t.byteTags[i] == tag {
		e.Bytes = int(t.byteCounts[i])
		found = true
	}
	return e, found
}

// evidenceBuilder gathers evidence while one image is scanned.
type evidenceBuilder struct {
	want  map[pooltag.Tag]bool // unprotected tags to keep; nil keeps every tag-like value
	code  map[pooltag.Tag]*codeUse
	bytes map[pooltag.Tag]uint32
}

func newEvidenceBuilder(want map[pooltag.Tag]bool) *evidenceBuilder {
	return &evidenceBuilder{want: want, code: map[pooltag.Tag]*codeUse{}, bytes: map[pooltag.Tag]uint32{}}
}

// keeps reports whether evidence for v is worth keeping.
func (b *evidenceBuilder) keeps(v uint32) bool {
	if b.want != nil {
		return b.want[pooltag.Tag(v).Unprotected()]
	}
	return pooltag.Tag(v).Printable()
}

func (b *evidenceBuilder) use(v uint32) *codeUse {
	t := pooltag.Tag(v).Unprotected()
	c := b.code[t]
	if c == nil {
		c = &codeUse{tag: t}
		b.code[t] = c
	}
	if pooltag.Tag(v)&pooltag.ProtectedBit != 0 {
		c.protected = true
	}
	return c
}

func (b *evidenceBuilder) immediate(v uint32) {
	if b.keeps(v) {
		b.use(v).immediates++
	}
}

// callSite records a tag argument. Call-site values are few, so they are
// kept even when they do not look like a tag: a caller asking for an odd
// value by number still gets an answer.
func (b *evidenceBuilder) callSite(v uint32, routine int, wrapped bool) {
	if b.want != nil && !b.want[pooltag.Tag(v).Unprotected()] {
		return
	}
	c := b.use(v)
	c.callSites++
	if wrapped {
		c.wrapped++
	}
	c.routines |= 1 << routine
}

func (b *evidenceBuilder) finish() tagEvidence {
	var t tagEvidence
	t.code = make([]codeUse, 0, len(b.code))
	for _, c := range b.code {
		t.code = append(t.code, *c)
	}
	sort.Slice(t.code, func(i, j int) bool { return t.code[i].tag < t.code[j].tag })
	t.byteTags = make([]pooltag.Tag, 0, len(b.bytes))
	for k := range b.bytes {
		t.byteTags = append(t.byteTags, k)
	}
	sort.Slice(t.byteTags, func(i, j int) bool { return t.byteTags[i] < t.byteTags[j] })
	t.byteCounts = make([]uint32, len(t.byteTags))
	for i, k := range t.byteTags {
		t.byteCounts[i] = b.bytes[k]
	}
	return t
}
