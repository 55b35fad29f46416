package live

// System is the one system call live sampling makes,
// NtQuerySystemInformation(SystemPoolTagInformation): it returns the
// kernel's SYSTEM_POOLTAG_INFORMATION buffer and the pointer size of the
// process it was written for. Kernel is the running system's; tests give
// built buffers.
type System interface {
	PoolTagInformation() (buf []byte, ptrSize int, err error)
}

// Kernel is the running Windows kernel (query_windows.go); elsewhere it
// returns ErrNotWindows.
type Kernel struct{}

// Query reads the pool tag counters from sys and decodes them.
func Query(sys System) ([]TagCounters, error) {
	buf, ptrSize, err := sys.PoolTagInformation()
	if err != nil {
		return nil, err
	}
	return Decode(buf, ptrSize)
}
