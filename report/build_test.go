package report

import (
	"context"
	"reflect"
	"testing"

	"github.com/poolblame/poolblame/analysis"
	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
	"github.com/poolblame/poolblame/pe/petest"
	"github.com/poolblame/poolblame/pool/pooltest"
	"github.com/poolblame/poolblame/pooltag"
)

// A tag whose bytes are not all printable still finds its driver: rows
// keep the raw tag, not only its escaped display form.
func TestBuildOddTag(t *testing.T) {
	odd := pooltag.Tag(uint32('A') | 'b'<<8 | 0x01<<16 | 'c'<<24) // "Ab\x01c"
	cfg := dumptest.Config{Arch: dumpfile.ArchAMD64, Build: 19041, CPUs: 2, Type: dumpfile.TypeBitmapFull}
	b := dumptest.New(cfg)
	spec := pooltest.Leak("Xxxx", false, 5000, 512, 10, 2)
	spec.Tag = odd
	if _, err := pooltest.Plant(b, cfg, pooltest.Scenario{Tags: []pooltest.TagSpec{spec, pooltest.Leak("Flat", false, 10, 64, 0, 2)},
		NonPagedMax: 4 << 20}); err != nil {
		t.Fatal(err)
	}
	img, err := petest.Build(petest.Driver{Machine: petest.X64, AllocTags: []uint32{uint32(odd)}, TimeDateStamp: 0x60000000})
	if err != nil {
		t.Fatal(err)
	}
	b.AddModule(dumptest.Module{Name: "odd.sys", Image: img, DiscardImports: true})
	f := pooltest.Open(t, b, "odd.dmp")
	r, err := Build(context.Background(), f, Options{})
	if err != nil || r.Pool == nil {
		t.Fatalf("%v %s", err, r.PoolError)
	}
	row := r.LeadingNonPaged[0]
	if row.Tag != `Ab\x01c` || len(row.Candidates) == 0 || row.Candidates[0].Name != "odd.sys" ||
		row.Candidates[0].Evidence != "call-site" || row.Candidates[0].Source != analysis.FromDumpImage {
		t.Fatalf("row %+v", row)
	}
	if len(r.Verdict.Culprits) != 1 || r.Verdict.Culprits[0].Driver != "odd.sys" {
		t.Errorf("culprits %+v", r.Verdict.Culprits)
	}
}

// Display filters choose rows; the verdict is decided before them and
// stays the same, word for word, with --third-party and any --top.
func TestDisplayFiltersKeepVerdict(t *testing.T) {
	f, err := dumpfile.Open("../testdata/win11-x64-ctfl.dmp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	build := func(o Options) *Report {
		o.DriverDirs = []string{"../testdata/drivers-win11"}
		r, err := Build(context.Background(), f, o)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	base := build(Options{})
	for _, o := range []Options{{ThirdParty: true}, {Top: 1}, {Top: 1, ThirdParty: true}, {Top: 30}} {
		r := build(o)
		if !reflect.DeepEqual(r.Verdict, base.Verdict) {
			t.Errorf("%+v: verdict\n%+v\nwant\n%+v", o, r.Verdict, base.Verdict)
		}
		if o.Top > 0 && len(r.LeadingNonPaged) > o.Top {
			t.Errorf("%+v: %d nonpaged rows shown", o, len(r.LeadingNonPaged))
		}
		if o.ThirdParty {
			for _, row := range r.LeadingNonPaged {
				if row.Tag == "smNp" {
					t.Errorf("%+v: smNp, whose only driver is Microsoft's, is shown", o)
				}
			}
		}
	}
	var shownSmNp bool
	for _, row := range base.LeadingNonPaged {
		shownSmNp = shownSmNp || row.Tag == "smNp"
	}
	if !shownSmNp {
		t.Error("without --third-party, smNp is not shown")
	}
}
