package pool_test

import (
	"strings"
	"testing"

	"github.com/poolblame/poolblame/pool"
	"github.com/poolblame/poolblame/pooltag"
)

// Select filters by pattern, sorts by the key (ties in tag order) and
// cuts to Top, as !poolused's flags do.
func TestSelect(t *testing.T) {
	us := []pool.Usage{
		{Tag: pooltag.MustTag("Zed "), NonPagedAllocs: 5, NonPagedFrees: 1, NonPagedBytes: 100, PagedAllocs: 1, PagedBytes: 900},
		{Tag: pooltag.MustTag("Leak"), NonPagedAllocs: 9, NonPagedFrees: 0, NonPagedBytes: 500, PagedFrees: 0},
		{Tag: pooltag.MustTag("Lean"), NonPagedAllocs: 2, NonPagedFrees: 2, NonPagedBytes: 0, PagedAllocs: 8, PagedFrees: 7, PagedBytes: 40},
		{Tag: pooltag.MustTag("Abc "), NonPagedAllocs: 9, NonPagedFrees: 0, NonPagedBytes: 500},
	}
	tests := []struct {
		sort string
		sel  pool.Selection
		want string
	}{
		{"tag", pool.Selection{}, "Abc Leak Lean Zed"},
		{"nonpaged", pool.Selection{}, "Abc Leak Zed Lean"},
		{"paged", pool.Selection{Top: 2}, "Zed Lean"},
		{"allocs", pool.Selection{}, "Lean Abc Leak Zed"},
		{"frees", pool.Selection{}, "Lean Zed Abc Leak"},
		{"diff", pool.Selection{Filter: "Le*"}, "Leak Lean"},
		{"DIFF", pool.Selection{Filter: "L??n"}, "Lean"},
	}
	for _, tt := range tests {
		key, err := pool.ParseSortKey(tt.sort)
		if err != nil {
			t.Fatal(err)
		}
		tt.sel.Sort = key
		var got []string
		for _, u := range pool.Select(us, tt.sel) {
			got = append(got, strings.TrimSpace(u.Tag.String()))
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("--sort %s %+v: %v, want %s", tt.sort, tt.sel, got, tt.want)
		}
	}
	if _, err := pool.ParseSortKey("size"); err == nil || !strings.Contains(err.Error(), `"size"`) {
		t.Errorf("bad key: %v", err)
	}
}
