//go:build !windows

package live

import "errors"

// ErrNotWindows is returned outside Windows: the pool tag counters of a
// running kernel are read on Windows only.
var ErrNotWindows = errors.New("live sampling reads the running Windows kernel's pool counters: it runs on Windows only (give poolmon files or dumps to the other commands)")

// PoolTagInformation is not available outside Windows.
func (Kernel) PoolTagInformation() ([]byte, int, error) { return nil, 0, ErrNotWindows }
