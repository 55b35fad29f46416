package batch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/poolblame/poolblame/dumpfile"
)

// zstdAll is the one decoder a run shares for .zst dumps decompressed
// into memory in one call (DecodeAll is safe for concurrent use), made on
// first use.
type zstdAll struct {
	once sync.Once
	dec  *zstd.Decoder
	err  error
}

func (z *zstdAll) decoder() (*zstd.Decoder, error) {
	z.once.Do(func() {
		// Capped at the buffer's capacity: the decoder never allocates
		// beyond the memory budget, whatever the frames claim.
		z.dec, z.err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecodeAllCapLimit(true), zstd.WithDecoderLowmem(false))
	})
	return z.dec, z.err
}

// decodeZstdInMemory decompresses a .zst dump in one call into a buffer
// of the memory budget, when the size its first frame records and the
// compressed file fit it together. Streaming copies every block out of
// the decoder's window once more, a third of the time of the whole
// decompression; here the decoder writes straight into the buffer.
// handled is false when this does not apply or the data does not decode
// this way (a size field that lies, several frames, damage): the caller
// then streams it, which spills into a temporary file and names damage
// with its offset. The dump's checks are those of the stream (dumpSink):
// its first bytes start a dump, and it ends where its header says.
func decodeZstdInMemory(ctx context.Context, in *input, sp *spool) (f *dumpfile.File, cleanup func(), handled bool, err error) {
	if in.container != zstdFile || in.member != "" || in.size < 0 {
		return nil, nil, false, nil
	}
	src, err := os.Open(in.path)
	if err != nil {
		return nil, nil, false, nil
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return nil, nil, false, nil
	}
	buf, ok := sp.mem.take(inMemoryZstd(in.size, fi.Size()))
	if !ok {
		return nil, nil, false, nil
	}
	dec, err := sp.zstd.decoder()
	if err == nil {
		err = ctx.Err()
	}
	// One buffer holds both: the output first, the compressed file after it.
	comp := buf[in.size : in.size+fi.Size()]
	if err == nil {
		_, err = io.ReadFull(src, comp)
	}
	var out []byte
	if err == nil {
		out, err = dec.DecodeAll(comp, buf[:0:in.size])
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		sp.mem.give(buf)
		if ctx.Err() != nil {
			return nil, nil, true, ctx.Err()
		}
		return nil, nil, false, nil
	}
	// The header first, as the stream gives it: the sink holds a copy of
	// what it has not judged yet.
	sink := newDumpSink(io.Discard)
	k := min(len(out), dumpfile.StartSize)
	_, werr := sink.Write(out[:k])
	if werr == nil && k < len(out) {
		_, werr = sink.Write(out[k:])
	}
	if sink.finish(werr) != nil || sink.err != nil {
		sp.mem.give(buf)
		if sink.err == nil { // cannot be: the whole stream was given
			return nil, nil, false, nil
		}
		return nil, nil, true, fmt.Errorf("%s: %w", in.name(), sink.err)
	}
	out = out[:sink.n]
	f, err = dumpfile.NewFile(in.name(), bytes.NewReader(out), int64(len(out)))
	if err != nil {
		sp.mem.give(buf)
		return nil, nil, true, err
	}
	return f, func() { f.Close(); sp.mem.give(buf) }, true, nil
}

// inMemoryZstd is the buffer a dump of size bytes compressed into comp
// takes: both, rounded up to a sixteenth of the dump so that the buffer
// kept for the next dump of the same size serves it though its
// compressed size differs a little (a fresh buffer costs a page fault per
// 4 KiB).
func inMemoryZstd(size, comp int64) int64 {
	grain := max(size/16, 64<<10)
	return (size + comp + grain - 1) / grain * grain
}
