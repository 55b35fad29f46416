package dumpfile

import "encoding/binary"

// Memory-capture tools write a crash dump header without a crash. DumpIt
// (MoonSols, later Comae) puts 'MATT' in BugCheckCode and spells
// 'MOONSOLS' in the low halves of the first two parameters.
const (
	captureMATT = 0x5454414D // "MATT" read as a little-endian uint32
)

// CaptureTool names the tool that captured a running machine's memory
// into this dump ("DumpIt"), or "" for a dump written by a crash. The
// bug check fields then hold the tool's signature, not a stop code.
func (h *Header) CaptureTool() string {
	if h.BugCheckCode != captureMATT {
		return ""
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:], uint32(h.BugCheckParameters[0]))
	binary.LittleEndian.PutUint32(b[4:], uint32(h.BugCheckParameters[1]))
	if string(b[:]) != "MOONSOLS" {
		return ""
	}
	return "DumpIt"
}
