package peimage_test

import (
	"bytes"
	"testing"

	"github.com/poolblame/poolblame/internal/peimage"
	"github.com/poolblame/poolblame/pe/petest"
)

// FuzzNewFile: any bytes give headers or an error, never a panic, and
// what is read stays within the bounds the reader promises.
func FuzzNewFile(f *testing.F) {
	for _, m := range []uint16{petest.X86, petest.X64, petest.ARM64} {
		img, err := petest.Build(petest.Driver{Machine: m, AllocTags: []uint32{petest.Tag("Fuzz")}})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(img[:0x400])
	}
	f.Add([]byte("MZ"))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := peimage.NewFile(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return
		}
		end := h.SectionTableOffset() + 40*int64(len(h.Sections))
		switch {
		case len(h.Sections) > peimage.MaxSections || len(h.Sections) != int(h.FileHeader.NumberOfSections):
			t.Errorf("%d sections read for NumberOfSections %d", len(h.Sections), h.FileHeader.NumberOfSections)
		case len(h.DataDirectory) > peimage.MaxDirs:
			t.Errorf("%d directories", len(h.DataDirectory))
		case end > int64(len(b)) || end > int64(h.SizeOfHeaders()):
			t.Errorf("section table ends at %#x, past the %d bytes or SizeOfHeaders %#x", end, len(b), h.SizeOfHeaders())
		case h.ImageBaseOffset() >= h.SectionTableOffset():
			t.Errorf("ImageBase at %#x, not before the section table at %#x", h.ImageBaseOffset(), h.SectionTableOffset())
		}
	})
}
