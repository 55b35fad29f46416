package pooltag

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/poolblame/poolblame/internal/realdata"
)

func loadSample(t *testing.T) *DB {
	t.Helper()
	db, err := Load(filepath.Join("testdata", "pooltag-sample.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// patterns lists the patterns of es, in order.
func patterns(es []Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Pattern)
	}
	return out
}

func TestParsePooltagSample(t *testing.T) {
	db := loadSample(t)
	if got, want := len(db.Entries), 21; got != want {
		t.Errorf("entries = %d, want %d: %v", got, want, patterns(db.Entries))
	}
	wantSkipped := map[int]string{26: "longer than four", 27: "separator"}
	if len(db.Skipped) != len(wantSkipped) {
		t.Fatalf("skipped = %+v, want lines 26 and 27", db.Skipped)
	}
	for _, s := range db.Skipped {
		if !strings.Contains(s.Reason, wantSkipped[s.Line]) {
			t.Errorf("skipped line %d reason %q, want it to mention %q", s.Line, s.Reason, wantSkipped[s.Line])
		}
	}
	tests := []struct {
		line                int
		pattern, bin, descr string
	}{
		{6, "Abcd", "abcdrv.sys", "Abcd driver context"},
		{8, "Io", "nt!io", "two-letter tag written without padding"},
		{9, "Irp", "nt!io", "three-letter tag written with its pad space"},
		{10, "Dh 1", "dh.sys", "tag with an inner space"},
		{20, "Unkn", "<unknown>", "a tag whose binary nobody knows"},
		{21, "Dash", "dash.sys", "description - with - dashes inside"},
		{22, "Tabs", "tabs.sys", "fields separated by tabs"},
		{23, "Only", "only.sys", ""},
		{24, "Desc", "", "a description without a binary field"},
		{29, "Last", "last.sys", "final line without a line break"},
	}
	byLine := map[int]Entry{}
	for _, e := range db.Entries {
		byLine[e.Line] = e
	}
	for _, tt := range tests {
		e, ok := byLine[tt.line]
		if !ok {
			t.Errorf("line %d: no entry", tt.line)
			continue
		}
		if e.Pattern != tt.pattern || e.Binary != tt.bin || e.Description != tt.descr {
			t.Errorf("line %d = %+v, want %q %q %q", tt.line, e, tt.pattern, tt.bin, tt.descr)
		}
	}
}

func TestPooltagLookup(t *testing.T) {
	db := loadSample(t)
	tests := []struct {
		tag  string
		want []string // patterns, in order
	}{
		{"Abcd", []string{"Abcd"}},
		{"abcd", []string{"abcd"}}, // case sensitive
		{"ABCD", nil},
		{"Io", []string{"Io"}},
		{"Irp", []string{"Irp"}},
		{"Mm", []string{"Mm"}},
		{"Dh 1", []string{"Dh 1"}},
		{"AcpD", []string{"AcpD", "Acp*"}},
		{"AcpX", []string{"Acp*"}},
		{"Acp", []string{"Acp*"}}, // 'Acp ' still starts with Acp
		{"CM25", []string{"CM25", "CM25", "CM2?", "CM??"}},
		{"CM31", []string{"CM??"}},
		{"CM3", []string{"CM??"}}, // 'CM3 ' is four characters
		{"CM", []string{"CM??"}},  // ? matches a pad space too
		{"C", nil},
		{"NtfF", []string{"Ntf?", "Ntf*"}}, // same literals: ? beats *
		{"Nope", nil},
	}
	for _, tt := range tests {
		got := patterns(db.Lookup(MustTag(tt.tag)))
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Lookup(%q) = %q, want %q", tt.tag, got, tt.want)
		}
	}
	// The protected bit of old kernels does not hide a tag.
	if got := db.Lookup(MustTag("Abcd") | ProtectedBit); len(got) != 1 {
		t.Errorf("Lookup(protected Abcd) = %v, want one entry", got)
	}
	// Duplicates keep file order.
	es := db.Lookup(MustTag("CM25"))
	if es[0].Line != 15 || es[1].Line != 16 {
		t.Errorf("CM25 duplicates on lines %d, %d; want 15, 16", es[0].Line, es[1].Line)
	}
}

func TestPooltagDescribe(t *testing.T) {
	db := loadSample(t)
	tests := []struct {
		tag, desc, bin string
		ok             bool
	}{
		{"AcpD", "ACPI device data", "acpi.sys", true},
		{"AcpQ", "ACPI generic (wildcard)", "acpi.sys", true},
		{"Unkn", "a tag whose binary nobody knows", "", true},
		{"CM25", "Configuration manager cell data", "nt!cm", true},
		{"Zzzz", "", "", false},
	}
	for _, tt := range tests {
		d, b, ok := db.Describe(MustTag(tt.tag))
		if d != tt.desc || b != tt.bin || ok != tt.ok {
			t.Errorf("Describe(%q) = %q, %q, %v; want %q, %q, %v", tt.tag, d, b, ok, tt.desc, tt.bin, tt.ok)
		}
	}
}

func TestPooltagByBinary(t *testing.T) {
	db := loadSample(t)
	tests := []struct {
		name string
		want []string
	}{
		{"acpi.sys", []string{"Acp*", "AcpD"}},
		{"ACPI.SYS", []string{"Acp*", "AcpD"}},
		{"acpi", []string{"Acp*", "AcpD"}},
		{"nt!cm", []string{"CM??", "CM2?", "CM25", "CM25"}},
		{"tcpip.sys", []string{"Many"}},
		{"ndis.sys", []string{"Many"}},
		{"<unknown>", nil},
		{"", nil},
		{"missing.sys", nil},
	}
	for _, tt := range tests {
		got := patterns(db.ByBinary(tt.name))
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("ByBinary(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestParsePooltagEncodings(t *testing.T) {
	const text = "rem x\r\nAbcd - a.sys - caf\xe9 latin-1\r\n"
	utf16le := func(s string) []byte {
		b := []byte{0xFF, 0xFE}
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		desc    string
		wantErr string
	}{
		{"latin1", []byte(text), "café latin-1", ""},
		{"utf8 bom", append([]byte{0xEF, 0xBB, 0xBF}, "Abcd - a.sys - café\n"...), "café", ""},
		{"utf16le", utf16le("Abcd - a.sys - café\r\n"), "café", ""},
		{"binary", []byte("MZ\x90\x00\x03\x00"), "", "not a text file (NUL byte at offset 3)"},
		{"odd utf16", []byte{0xFF, 0xFE, 'A'}, "", "odd number of bytes"},
	}
	for _, tt := range tests {
		db, err := Parse(bytes.NewReader(tt.data), "pt.txt")
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), "pt.txt: ") {
				t.Errorf("%s: err = %v, want one naming pt.txt and %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(db.Entries) != 1 || db.Entries[0].Description != tt.desc {
			t.Errorf("%s: entries = %+v, want description %q", tt.name, db.Entries, tt.desc)
		}
	}
}

func TestLoadPooltagMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.txt"))
	if err == nil || !strings.Contains(err.Error(), "nope.txt") {
		t.Errorf("err = %v, want one naming nope.txt", err)
	}
}

// realDriverTags is the MIT-licensed list of systeminformer.sys's tags that
// sits beside the checkout.
const realDriverTags = "drivers/systeminformer-pooltags.txt"

func TestPooltagSystemInformer(t *testing.T) {
	realDriverTags := realdata.Path(t, realDriverTags)
	db, err := Load(realDriverTags)
	if err != nil {
		t.Fatal(err)
	}
	if len(db.Entries) != 55 || len(db.Skipped) != 0 {
		t.Fatalf("entries = %d, skipped = %v; want 55 and none", len(db.Entries), db.Skipped)
	}
	if got := len(db.ByBinary("systeminformer.sys")); got != 55 {
		t.Errorf("ByBinary(systeminformer.sys) = %d entries, want 55", got)
	}
	tests := []struct{ tag, desc string }{
		{"KpA0", "KPH_TAG_PAGED_LOOKASIDE_OBJECT"},
		{"KpIS", "KPH_TAG_INFORMER_STATE"},
		{"KpIs", "KPH_TAG_INFORMER_SETTINGS"}, // differs from KpIS by case only
		{"Kpr0", "KPH_TAG_THREAD_START_CONTEXT"},
	}
	for _, tt := range tests {
		d, b, ok := db.Describe(MustTag(tt.tag))
		if !ok || d != tt.desc || b != "systeminformer.sys" {
			t.Errorf("Describe(%s) = %q, %q, %v; want %q, systeminformer.sys", tt.tag, d, b, ok, tt.desc)
		}
	}
	if _, _, ok := db.Describe(MustTag("KpZZ")); ok {
		t.Error("Describe(KpZZ) found an entry")
	}
}

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"*", "Abcd", true},
		{"A*", "Abcd", true},
		{"*d", "Abcd", true},
		{"A*c*", "Abcd", true},
		{"A?c?", "Abcd", true},
		{"A?c", "Abcd", false},
		{"**A**", "xAx", true},
		{"?*?*?*?*?", "Abcd", false},
		{"Abcd", "Abcd", true},
		{"abcd", "Abcd", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.p, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

func BenchmarkPooltagLookup(b *testing.B) {
	// A file the size of Microsoft's (about 3,000 exact tags, a few hundred
	// wildcards) built from made-up tags.
	var sb strings.Builder
	for i := range 3000 {
		sb.WriteString(string([]byte{'A' + byte(i%26), 'a' + byte(i/26%26), '0' + byte(i/676%10), 'x'}))
		sb.WriteString(" - drv.sys - made-up entry\n")
	}
	for i := range 300 {
		sb.WriteString(string([]byte{'W' + byte(i%4), 'a' + byte(i/4%26), '*'}))
		sb.WriteString(" - wild.sys - made-up wildcard\n")
	}
	db, err := Parse(strings.NewReader(sb.String()), "bench")
	if err != nil {
		b.Fatal(err)
	}
	tags := []Tag{MustTag("Ba0x"), MustTag("Xbqq"), MustTag("Zzzz")}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db.Lookup(tags[i%len(tags)])
	}
}
