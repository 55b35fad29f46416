// Package outfile writes a run's results without ever writing over its
// evidence: not over an input (the same file by device and inode, whatever
// name reaches it), not over a file in a folder of inputs, and not over a
// file the run did not create unless asked (Force). Every file is written
// to a temporary name beside it and renamed into place, so a reader never
// sees half a file and an existing file's data is never written into.
package outfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// ErrExists is returned for a file that exists and that the run did not
// create: it may be someone's evidence, so only Force replaces it.
var ErrExists = errors.New("exists and was not written by this run (--force replaces it)")

// ErrInput is returned, after the path, when the path names one of the
// run's input files, by the name it was given or by any other (a hard or
// symbolic link, a linked folder on the way, a relative or absolute
// path): the error names the input too when the names differ. Force does
// not change that.
var ErrInput = errors.New("is an input of this run")

// Guard knows a run's inputs and the files it wrote. The zero Guard
// protects nothing but existing files; it is safe for concurrent use.
type Guard struct {
	Force bool // replace existing files the run did not create (never inputs)

	mu      sync.Mutex
	inputs  []input
	dirs    []string // resolved folders of inputs (drivers folders)
	owned   []string // resolved folders whose files earlier runs wrote
	created map[string]bool
}

type input struct {
	path string
	fi   fs.FileInfo
}

// AddInput records an input file. A path that cannot be read is not an
// input that could be overwritten, and is left out.
func (g *Guard) AddInput(path string) {
	fi, err := os.Stat(path)
	if err != nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.inputs = append(g.inputs, input{path, fi})
}

// AddInputDir records a folder whose every file is an input.
func (g *Guard) AddInputDir(dir string) {
	if r, err := resolve(dir); err == nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.dirs = append(g.dirs, r)
	}
}

// AddOwnedDir records a folder an earlier run of the tool wrote: its
// existing files may be replaced (inputs still never are).
func (g *Guard) AddOwnedDir(dir string) {
	if r, err := resolve(dir); err == nil {
		g.mu.Lock()
		defer g.mu.Unlock()
		g.owned = append(g.owned, r)
	}
}

// Check says whether path may be written.
func (g *Guard) Check(path string) error {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, in := range g.inputs {
		if os.SameFile(fi, in.fi) {
			if filepath.Clean(in.path) == filepath.Clean(path) {
				return fmt.Errorf("%s %w: never written over", path, ErrInput)
			}
			return fmt.Errorf("%s %w (the same file as %s): never written over", path, ErrInput, in.path)
		}
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: is not a regular file: not written", path)
	}
	rp, err := resolve(path)
	if err != nil {
		return err
	}
	for _, d := range g.dirs {
		if within(rp, d) {
			return fmt.Errorf("%s %w (in the input folder %s): never written over", path, ErrInput, d)
		}
	}
	if g.created[rp] || g.Force {
		return nil
	}
	for _, d := range g.owned {
		if filepath.Dir(rp) == d {
			return nil
		}
	}
	return fmt.Errorf("%s %w", path, ErrExists)
}

// WriteFile writes data to path once Check allows it: to a temporary
// file beside it, then renamed into place.
func (g *Guard) WriteFile(path string, data []byte) error {
	return g.WriteWith(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteWith is WriteFile for content written by write as it is made, so
// that a large file is never held whole in memory; an error from write
// leaves path as it was.
func (g *Guard) WriteWith(path string, write func(io.Writer) error) error {
	if err := g.Check(path); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if rp, err := resolve(path); err == nil {
		g.mu.Lock()
		if g.created == nil {
			g.created = map[string]bool{}
		}
		g.created[rp] = true
		g.mu.Unlock()
	}
	return nil
}

// resolve is the absolute path with symbolic links of its folder
// followed (the file itself may not exist yet).
func resolve(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		return r, nil
	}
	dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, filepath.Base(abs)), nil
}

func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && rel != ".."
}
