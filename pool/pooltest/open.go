package pooltest

import (
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/dumpfile/dumptest"
)

// Open writes the dump b describes and opens it from memory, failing tb
// on any error: the step every test takes between planting and reading.
func Open(tb testing.TB, b *dumptest.Builder, name string) *dumpfile.File {
	tb.Helper()
	raw, err := b.Bytes()
	if err != nil {
		tb.Fatal(err)
	}
	f, err := dumpfile.NewFile(name, dumpfile.Bytes(raw), int64(len(raw)))
	if err != nil {
		tb.Fatal(err)
	}
	return f
}
