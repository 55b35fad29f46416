package dumpfile

import "fmt"

// StartSize is how many first bytes CheckStart needs to know the
// declared size: the larger (64-bit) header.
const StartSize = headerSize64

// CheckStart judges a dump arriving as a stream (decompressed from an
// archive) by its first bytes, before the rest is written anywhere: b
// holds at least the first 8 bytes, or the whole stream when it is
// shorter. It fails when they cannot start a kernel crash dump. declared
// is the file size the header states (RequiredDumpSpace), once b holds
// the whole header; 0 when it is not known yet or not set.
func CheckStart(b []byte) (declared uint64, err error) {
	if len(b) < 8 {
		return 0, fmt.Errorf("truncated header: the stream is %d bytes", len(b))
	}
	is64, err := signature(b)
	if err != nil {
		return 0, err
	}
	hsize := headerSize32
	if is64 {
		hsize = headerSize64
	}
	if len(b) < hsize {
		return 0, nil
	}
	h := parseHeader(b[:hsize], is64)
	if h.Arch() == ArchUnknown {
		return 0, &FormatError{Off: 0x20, Field: "MachineImageType", Val: h.MachineImageType, Msg: "unknown machine"}
	}
	if _, ok := containerParsers[h.DumpType]; !ok {
		return 0, &FormatError{Off: int64(headerOff(is64, hDumpType)), Field: hDumpType.String(), Val: uint32(h.DumpType), Msg: "unknown dump type"}
	}
	if h.RequiredDumpSpace < uint64(hsize) {
		return 0, nil // not set (or damaged): no size to hold the stream to
	}
	return h.RequiredDumpSpace, nil
}
