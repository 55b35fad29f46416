package dumpfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
)

// Module is a loaded kernel module (LDR_DATA_TABLE_ENTRY).
type Module struct {
	Name  string // BaseDllName
	Path  string // FullDllName
	Base  uint64 // DllBase
	Size  uint32 // SizeOfImage in the loader entry
	Entry uint64 // address of the loader entry (0 for triage dumps)

	// From the PE header in memory; zero when HeaderErr is set.
	TimeDateStamp uint32
	CheckSum      uint32
	SizeOfImage   uint32
	HeaderErr     error
}

// ldrLayout is where LDR_DATA_TABLE_ENTRY keeps the fields read here.
type ldrLayout struct {
	size                         int
	dllBase, sizeOfImage         int
	fullName, baseName, strBufAt int // UNICODE_STRING offsets; Buffer's offset inside it
	checkSum                     int
}

var ldrLayouts = map[bool]ldrLayout{
	true:  {size: 0x88, dllBase: 0x30, sizeOfImage: 0x40, fullName: 0x48, baseName: 0x58, strBufAt: 8, checkSum: 0x78},
	false: {size: 0x48, dllBase: 0x18, sizeOfImage: 0x20, fullName: 0x24, baseName: 0x2C, strBufAt: 4, checkSum: 0x40},
}

// maxModules bounds the walk: real systems load a few hundred.
const maxModules = 8192

// ErrModuleList is wrapped by errors of a damaged module list.
var ErrModuleList = errors.New("module list damaged")

// Modules walks PsLoadedModuleList (the header's, else KDBG's). On a list
// that loops or points to unreadable memory it returns the modules read
// so far with an error saying where the walk stopped. The first module is
// the kernel.
func (f *File) Modules() ([]Module, error) {
	if f.Triage != nil {
		return f.Triage.Drivers, nil
	}
	head := f.PsLoadedModuleList
	if head == 0 {
		if k, err := f.KDBG(); err == nil {
			head = k.PsLoadedModuleList()
		}
	}
	if head == 0 {
		return nil, fmt.Errorf("%w: PsLoadedModuleList is not set in the header or KDBG", ErrModuleList)
	}
	lay := ldrLayouts[f.Is64]
	var mods []Module
	seen := map[uint64]bool{head: true}
	cur, err := f.ReadPointer(head)
	if err != nil {
		return nil, fmt.Errorf("%w: list head %#x: %w", ErrModuleList, head, err)
	}
	buf := make([]byte, lay.size)
	for cur != head {
		if seen[cur] {
			return mods, fmt.Errorf("%w: the list loops back to %#x after %d entries", ErrModuleList, cur, len(mods))
		}
		if len(mods) >= maxModules {
			return mods, fmt.Errorf("%w: more than %d entries", ErrModuleList, maxModules)
		}
		seen[cur] = true
		if _, err := f.ReadVirtual(cur, buf); err != nil {
			return mods, fmt.Errorf("%w: entry %d at %#x unreadable: %w", ErrModuleList, len(mods), cur, err)
		}
		m := Module{
			Entry: cur,
			Base:  f.ptrAt(buf, lay.dllBase),
			Size:  binary.LittleEndian.Uint32(buf[lay.sizeOfImage:]),
		}
		m.Path = f.unicodeString(buf[lay.fullName:], lay.strBufAt)
		m.Name = f.unicodeString(buf[lay.baseName:], lay.strBufAt)
		if m.Name == "" {
			m.Name = baseName(m.Path)
		}
		m.TimeDateStamp, m.CheckSum, m.SizeOfImage, m.HeaderErr = f.peHeader(m.Base)
		mods = append(mods, m)
		cur = f.ptrAt(buf, 0)
	}
	return mods, nil
}

func (f *File) ptrAt(b []byte, off int) uint64 {
	if f.Is64 {
		return binary.LittleEndian.Uint64(b[off:])
	}
	return uint64(binary.LittleEndian.Uint32(b[off:]))
}

// unicodeString reads a UNICODE_STRING {u16 Length; u16 MaximumLength;
// Buffer} from b. An unreadable buffer gives "".
func (f *File) unicodeString(b []byte, bufAt int) string {
	n := int(binary.LittleEndian.Uint16(b))
	if n == 0 || n > 2048 || n%2 != 0 {
		return ""
	}
	p := f.ptrAt(b, bufAt)
	raw := make([]byte, n)
	if _, err := f.ReadVirtual(p, raw); err != nil {
		return ""
	}
	return decodeUTF16(raw)
}

func decodeUTF16(raw []byte) string {
	u := make([]uint16, len(raw)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(raw[2*i:])
	}
	return strings.TrimRight(string(utf16.Decode(u)), "\x00")
}

func baseName(p string) string {
	if i := strings.LastIndexAny(p, `\/`); i >= 0 {
		return p[i+1:]
	}
	return p
}

// peHeader reads TimeDateStamp, CheckSum and SizeOfImage from the PE
// header mapped at base.
func (f *File) peHeader(base uint64) (stamp, sum, size uint32, err error) {
	h, err := f.ImageHeaders(base)
	if err != nil {
		return 0, 0, 0, err
	}
	return h.FileHeader.TimeDateStamp, h.CheckSum(), h.SizeOfImage(), nil
}
