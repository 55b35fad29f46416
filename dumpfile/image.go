package dumpfile

import (
	"fmt"
	"io"

	"github.com/poolblame/poolblame/internal/peimage"
)

// ImageReader reads kernel virtual memory from base on: offset 0 is base,
// so an image mapped there reads at its RVAs.
func (f *File) ImageReader(base uint64) io.ReaderAt { return imageReader{f, base} }

type imageReader struct {
	f    *File
	base uint64
}

func (r imageReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("offset %d before the image at %#x", off, r.base)
	}
	return r.f.ReadVirtual(r.base+uint64(off), p)
}

// ImageHeaders reads the headers of the PE image mapped at base. They are
// read from its first page only: the loader maps them there, and the
// section data follows.
func (f *File) ImageHeaders(base uint64) (*peimage.File, error) {
	h, err := peimage.NewFile(f.ImageReader(base), PageSize)
	if err != nil {
		return nil, fmt.Errorf("PE headers at %#x: %w", base, err)
	}
	return h, nil
}
