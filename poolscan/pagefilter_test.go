package poolscan

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/poolblame/poolblame/internal/realdata"
)

// filterPages are the kinds of page the first look meets most: zeroed
// memory, noise, and real kernel pages (when the real data is there).
func filterPages() map[string][][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	out := map[string][][]byte{}
	for range 64 {
		out["zero"] = append(out["zero"], make([]byte, 4096))
		p := make([]byte, 4096)
		for i := range p {
			p[i] = byte(rng.Uint32())
		}
		out["random"] = append(out["random"], p)
	}
	if p, ok := realdata.Lookup("memory/rewind-17763/a/mem"); ok {
		ents, _ := os.ReadDir(p)
		for _, e := range ents {
			if b, err := os.ReadFile(filepath.Join(p, e.Name())); err == nil && len(b) == 4096 {
				out["real"] = append(out["real"], b)
			}
		}
	}
	return out
}

// BenchmarkPageFilter times the first look at a page (anyWanted), the
// test every page of a segment-heap dump goes through, for ten wanted
// tags. cpu-ns/page is the thread's CPU time, which the load of other
// processes on the machine changes less than the wall time.
func BenchmarkPageFilter(b *testing.B) {
	m, err := NewMatcher("Leak", "Othr", "File", "Ntf0", "ALPC", "ObNm", "MmSt", "Toke", "Irp ", "Even")
	if err != nil {
		b.Fatal(err)
	}
	pages := filterPages()
	for _, kind := range []string{"zero", "random", "real"} {
		for _, is64 := range []bool{true, false} {
			r := newPageReader(is64, 19041)
			name := kind + "/x86"
			if is64 {
				name = kind + "/x64"
			}
			b.Run(name, func(b *testing.B) {
				ps := pages[kind]
				if len(ps) == 0 {
					b.Skip("no real kernel pages: the real data is absent")
				}
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				b.SetBytes(4096)
				t0 := threadNs()
				for i := 0; i < b.N; i++ {
					r.anyWanted(ps[i%len(ps)], m)
				}
				if t := threadNs(); t > 0 {
					b.ReportMetric(float64(t-t0)/float64(b.N), "cpu-ns/page")
				}
			})
		}
	}
}
