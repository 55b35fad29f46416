// Package walk lists the regular files under folders the way a user
// means them: symbolic links to folders and files are followed (a folder
// reached twice, as a link loop does, is walked once), and every path that
// cannot be used (unreadable, a broken link, a FIFO, a device, a loop) is
// named with the reason instead of being passed over in silence.
package walk

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/poolblame/poolblame/dumpfile"
)

// Func receives each regular file: the path under the root as given (links
// not resolved, so names stay the user's) and its (followed) FileInfo.
// Returning an error stops the walk with it.
type Func func(path string, fi fs.FileInfo) error

// Unusable receives each path that is not used and why.
type Unusable func(path string, why error)

// Dir walks root (which may itself be a link to a folder) in lexical
// order. It fails only when root cannot be read at all, or fn fails.
func Dir(root string, fn Func, skip Unusable) error {
	w := &walker{fn: fn, skip: skip, seen: map[string]bool{}}
	fi, err := os.Stat(root)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a folder", root)
	}
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	w.seen[real] = true
	entries, err := os.ReadDir(root)
	if err != nil {
		return err
	}
	return w.entries(root, entries)
}

type walker struct {
	fn   Func
	skip Unusable
	seen map[string]bool // resolved folders already walked
}

func (w *walker) dir(p string) error {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		w.skip(p, err)
		return nil
	}
	if w.seen[real] {
		w.skip(p, fmt.Errorf("leads back to %s, already searched (a link loop or a second link): not searched again", real))
		return nil
	}
	w.seen[real] = true
	entries, err := os.ReadDir(p)
	if err != nil {
		w.skip(p, err)
		return nil
	}
	return w.entries(p, entries)
}

func (w *walker) entries(dir string, entries []fs.DirEntry) error {
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p) // follows links
		if err != nil {
			if e.Type()&fs.ModeSymlink != 0 {
				err = fmt.Errorf("a broken symbolic link: %w", err)
			}
			w.skip(p, err)
			continue
		}
		switch {
		case fi.IsDir():
			if err := w.dir(p); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := w.fn(p, fi); err != nil {
				return err
			}
		default:
			w.skip(p, dumpfile.CheckRegular(fi))
		}
	}
	return nil
}
