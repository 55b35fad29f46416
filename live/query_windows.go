//go:build windows

package live

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ErrNotWindows is never returned on Windows.
var ErrNotWindows = errors.New("not Windows")

// PoolTagInformation asks the kernel for its pool tag counters, growing
// the buffer as the kernel asks (tags appear while the call is made).
func (Kernel) PoolTagInformation() ([]byte, int, error) {
	size := uint32(256 << 10)
	for range 8 {
		buf := make([]byte, size)
		var ret uint32
		err := windows.NtQuerySystemInformation(SystemPoolTagInformation, unsafe.Pointer(&buf[0]), size, &ret)
		if errors.Is(err, windows.STATUS_INFO_LENGTH_MISMATCH) || errors.Is(err, windows.STATUS_BUFFER_TOO_SMALL) {
			size = max(ret, size) + 64<<10
			continue
		}
		if errors.Is(err, windows.STATUS_INVALID_INFO_CLASS) || errors.Is(err, windows.STATUS_NOT_IMPLEMENTED) {
			// Wine, for one, has no pool tag counters to give.
			return nil, 0, fmt.Errorf("NtQuerySystemInformation(SystemPoolTagInformation): this system does not provide pool tag counters: %w", err)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("NtQuerySystemInformation(SystemPoolTagInformation): %w", err)
		}
		return buf[:min(max(ret, 4), size)], int(unsafe.Sizeof(uintptr(0))), nil
	}
	return nil, 0, errors.New("NtQuerySystemInformation(SystemPoolTagInformation): the buffer kept growing")
}
