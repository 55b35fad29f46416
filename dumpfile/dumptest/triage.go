package dumptest

import (
	"encoding/binary"
	"unicode/utf16"
)

// triageImage lays out a triage dump: the header, the TRIAGE_DUMP block
// (layout and the real file it was checked against: see triageLayout),
// a plain copy of the KDBG block, the driver table and its string pool,
// then the 'TRGD' mark. There are no physical pages.
func (b *Builder) triageImage() (*dumpImage, error) {
	h, t := b.arch.hdr, b.arch.triage
	le := binary.LittleEndian
	pos := alignUp(uint64(t.at+t.size), 8)
	kdbgOff := pos
	pos = alignUp(pos+uint64(b.kdbgSize), 8)
	listOff := pos
	pos = alignUp(pos+uint64(len(b.modules)*t.entrySize), 8)
	poolOff := pos
	names := make([][]uint16, len(b.modules))
	nameOff := make([]uint64, len(b.modules))
	for i, m := range b.modules {
		names[i] = utf16.Encode([]rune(m.path))
		nameOff[i] = pos
		pos = alignUp(pos+4+2*uint64(len(names[i])+1), 8)
	}
	poolSize := pos - poolOff
	validOff := pos
	size := validOff + 4

	buf := make([]byte, size)
	b.writeHeader(buf[:h.size], nil, size)
	tb := buf[t.at:]
	le.PutUint32(tb[0x04:], uint32(size)) // SizeOfDump
	le.PutUint32(tb[0x08:], uint32(validOff))
	le.PutUint32(tb[t.contextOffset:], uint32(h.context))
	le.PutUint32(tb[t.exceptionOffset:], uint32(h.exception))
	le.PutUint32(tb[t.driverListOffset:], uint32(listOff))
	le.PutUint32(tb[t.driverCount:], uint32(len(b.modules)))
	le.PutUint32(tb[t.stringPoolOffset:], uint32(poolOff))
	le.PutUint32(tb[t.stringPoolSize:], uint32(poolSize))
	le.PutUint32(tb[t.triageOptions:], 0xFFFFFFFF)
	le.PutUint32(tb[t.debuggerDataOffset:], uint32(kdbgOff))
	le.PutUint32(tb[t.debuggerDataSize:], uint32(b.kdbgSize))
	copy(buf[kdbgOff:], b.Read(b.kdbgVA, b.kdbgSize))

	for i, m := range b.modules {
		e := buf[listOff+uint64(i*t.entrySize):]
		le.PutUint32(e[t.entryNameOff:], uint32(nameOff[i]))
		if b.arch.ptrSize == 8 {
			le.PutUint64(e[t.entryDllBase:], m.base)
		} else {
			le.PutUint32(e[t.entryDllBase:], uint32(m.base))
		}
		le.PutUint32(e[t.entrySizeOfImage:], m.size)
		le.PutUint32(e[t.entryCheckSum:], m.checkSum)
		le.PutUint32(e[t.entryTimeDateStamp:], m.timeDateStamp)

		s := buf[nameOff[i]:]
		le.PutUint32(s, uint32(len(names[i]))) // in characters, NUL not counted
		for j, c := range names[i] {
			le.PutUint16(s[4+2*j:], c)
		}
	}
	copy(buf[validOff:], "TRGD")
	return &dumpImage{meta: buf, firstPage: size, size: size}, nil
}
