package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/poolblame/poolblame/batch"
	"github.com/poolblame/poolblame/dumpfile"
)

// openDump opens the dump a single-dump command names: a dump file, or
// the one dump in a .zip, .gz or .zst file, as batch reads them. An
// interrupt while decompressing stops it and removes the temporary file.
func openDump(path string) (*dumpfile.File, func(), error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	return batch.OpenDump(ctx, path, "")
}
