package batch

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/pooltag"
)

// TestKeptTagsJSON: the compact tags a run keeps read back from
// index.json as they were written, short and non-printable tags too,
// and a malformed entry is refused rather than read as another tag.
func TestKeptTagsJSON(t *testing.T) {
	in := keptTags{
		{tag: pooltag.MustTag("Leak"), bytes: 1 << 20, outstanding: 42},
		{tag: pooltag.MustTag("Mm"), paged: true, bytes: 4096, outstanding: 1},
		{tag: pooltag.Tag(0x41000102), bytes: 7}, // bytes 02 01 00 41
		{tag: pooltag.MustTag(`\x4`), bytes: 9},  // printable characters that look like an escape
		{tag: pooltag.Tag(0x20206101), bytes: 3}, // 01 'a' and two pad spaces: written \x01a
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"tag":"Leak","pool":"nonpaged","bytes":1048576,"outstanding":42`, `"tag":"Mm","pool":"paged"`, `"tag":"\\x02\\x01\\x00A"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var out keptTags
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d tags back, want %d", len(out), len(in))
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("tag %d: %+v back, want %+v", i, out[i], in[i])
		}
	}
	for _, bad := range []string{`[{"tag":"Leak","pool":"session"}]`, `[{"tag":"","pool":"paged"}]`, `[{"tag":"\\x01\\x02\\x03\\x04\\x05","pool":"paged"}]`, `[{"tag":"toolong","pool":"paged"}]`} {
		var ts keptTags
		if err := json.Unmarshal([]byte(bad), &ts); err == nil {
			t.Errorf("%s read as %+v, want an error", bad, ts)
		}
	}
}
