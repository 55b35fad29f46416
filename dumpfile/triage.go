package dumpfile

import (
	"encoding/binary"
	"fmt"
)

// Triage is the TRIAGE_DUMP block of a triage dump (DumpType 4): the
// writer's selection of what a crash needs, with no physical memory.
type Triage struct {
	Off                int64 // file offset of the block
	ServicePackBuild   uint32
	SizeOfDump         uint32
	ValidOffset        uint32
	DriverListOffset   uint32
	DriverCount        uint32
	StringPoolOffset   uint32
	StringPoolSize     uint32
	DebuggerDataOffset uint32
	DebuggerDataSize   uint32
	Drivers            []Module // from the driver list; no in-memory PE headers
	DriverListErr      error    // why the driver list could not be read in full
	kdbg               *KDBG
}

// triageLayout gives the TRIAGE_DUMP fields read here (mindumpdef.h).
// The 64-bit offsets are checked against real dumps (triage_x64.dmp:
// DebuggerDataOffset 0x104a8 points at the block whose 'KDBG' tag is at
// 0x104b8; 151 drivers). The 32-bit block has no ArchitectureSpecific
// union and a 32-bit TopOfStack, which moves its tail 0x18 bytes up; the
// real ARM32 triage dump (triage_arm32_rpi3.dmp, build 17134) confirms it:
// 136 entries of 0x4C bytes, CheckSum at 0x44 and TimeDateStamp at 0x48
// (ntoskrnl.exe's 0x5ACD88B6, April 2018).
type triageLayout struct {
	at                                                  int64
	spBuild, sizeOfDump, validOff                       int
	driverList, driverCount, stringPool, stringPoolSize int
	debuggerData, debuggerDataSize                      int
	entryName, entryLdr, entryStride                    int // DUMP_DRIVER_ENTRY: name offset, LdrEntry offset, default stride
	entryTimeStamp                                      int // TimeDateStamp in the entry; 0: not known
	blockEnd                                            int
}

var triageLayouts = map[bool]triageLayout{
	true: {at: 0x2000, spBuild: 0, sizeOfDump: 4, validOff: 8, driverList: 0x30, driverCount: 0x34,
		stringPool: 0x38, stringPoolSize: 0x3C, debuggerData: 0x70, debuggerDataSize: 0x74,
		entryName: 0, entryLdr: 8, entryStride: 0x90, entryTimeStamp: 0x88, blockEnd: 0x80},
	false: {at: 0x1000, spBuild: 0, sizeOfDump: 4, validOff: 8, driverList: 0x30, driverCount: 0x34,
		stringPool: 0x38, stringPoolSize: 0x3C, debuggerData: 0x58, debuggerDataSize: 0x5C,
		entryName: 0, entryLdr: 4, entryStride: 0x4C, entryTimeStamp: 0x48, blockEnd: 0x68},
}

func (f *File) parseTriage() error {
	lay := triageLayouts[f.Is64]
	b, err := f.readAt(lay.at, lay.blockEnd)
	if err != nil {
		return &FormatError{Off: lay.at, Field: "TRIAGE_DUMP", Msg: "truncated: " + err.Error()}
	}
	u32 := func(o int) uint32 { return binary.LittleEndian.Uint32(b[o:]) }
	t := &Triage{
		Off:                lay.at,
		ServicePackBuild:   u32(lay.spBuild),
		SizeOfDump:         u32(lay.sizeOfDump),
		ValidOffset:        u32(lay.validOff),
		DriverListOffset:   u32(lay.driverList),
		DriverCount:        u32(lay.driverCount),
		StringPoolOffset:   u32(lay.stringPool),
		StringPoolSize:     u32(lay.stringPoolSize),
		DebuggerDataOffset: u32(lay.debuggerData),
		DebuggerDataSize:   u32(lay.debuggerDataSize),
	}
	f.Triage = t
	if t.DebuggerDataOffset != 0 && t.DebuggerDataSize >= 0x20 {
		if raw, err := f.readAt(int64(t.DebuggerDataOffset), int(t.DebuggerDataSize)); err == nil &&
			binary.LittleEndian.Uint32(raw[kdOwnerTag:]) == sigKDBG {
			t.kdbg = &KDBG{Addr: f.KdDebuggerDataBlock, Size: binary.LittleEndian.Uint32(raw[kdSize:]),
				Source: "triage copy", raw: append([]byte(nil), raw...), is64: f.Is64}
		}
	}
	t.Drivers, t.DriverListErr = f.triageDrivers(t, lay)
	return nil
}

// triageDrivers reads DUMP_DRIVER_ENTRY {u32 DriverNameOffset;
// KLDR_DATA_TABLE_ENTRY LdrEntry} records; names are DUMP_STRING {u32
// Length in chars; WCHAR Buffer[]} in the string pool. The record size is
// taken from the distance to the string pool when it divides evenly.
func (f *File) triageDrivers(t *Triage, lay triageLayout) ([]Module, error) {
	if t.DriverCount == 0 {
		return nil, nil
	}
	if t.DriverCount > maxModules {
		return nil, &FormatError{Off: lay.at + int64(lay.driverCount), Field: "DriverCount", Val: t.DriverCount, Msg: "too many drivers"}
	}
	stride := lay.entryStride
	if t.StringPoolOffset > t.DriverListOffset {
		if d := int(t.StringPoolOffset-t.DriverListOffset) / int(t.DriverCount); d*int(t.DriverCount) == int(t.StringPoolOffset-t.DriverListOffset) && d >= lay.entryLdr+0x40 {
			stride = d
		}
	}
	ldr := ldrLayouts[f.Is64]
	mods := make([]Module, 0, t.DriverCount)
	for i := 0; i < int(t.DriverCount); i++ {
		off := int64(t.DriverListOffset) + int64(i*stride)
		e, err := f.readAt(off, stride)
		if err != nil {
			return mods, fmt.Errorf("driver entry %d at %#x: %w", i, off, err)
		}
		l := e[lay.entryLdr:]
		m := Module{
			Base:      f.ptrAt(l, ldr.dllBase),
			Size:      binary.LittleEndian.Uint32(l[ldr.sizeOfImage:]),
			HeaderErr: ErrNoPhysicalMemory,
		}
		if ldr.checkSum+4 <= len(l) {
			m.CheckSum = binary.LittleEndian.Uint32(l[ldr.checkSum:])
		}
		if o := lay.entryTimeStamp; o != 0 && o+4 <= len(e) {
			m.TimeDateStamp = binary.LittleEndian.Uint32(e[o:])
		}
		m.Path, err = f.dumpString(int64(binary.LittleEndian.Uint32(e[lay.entryName:])))
		if err != nil {
			return mods, fmt.Errorf("driver entry %d name: %w", i, err)
		}
		m.Name = baseName(m.Path)
		mods = append(mods, m)
	}
	return mods, nil
}

// dumpString reads a DUMP_STRING at off.
func (f *File) dumpString(off int64) (string, error) {
	hdr, err := f.readAt(off, 4)
	if err != nil {
		return "", err
	}
	n := binary.LittleEndian.Uint32(hdr)
	if n > 1024 {
		return "", fmt.Errorf("string at %#x: length %d out of range", off, n)
	}
	raw, err := f.readAt(off+4, int(n)*2)
	if err != nil {
		return "", err
	}
	return decodeUTF16(raw), nil
}
