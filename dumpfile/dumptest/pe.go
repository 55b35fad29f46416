package dumptest

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"fmt"
)

// peSection is a section of a generated image.
type peSection struct {
	name            string
	rva, size       uint32
	characteristics uint32
}

const (
	scnCode = 0x60000020 // CODE | EXECUTE | READ
	scnData = 0xC0000040 // INITIALIZED_DATA | READ | WRITE
)

// peImage is an image ready to be mapped: pieces of bytes at RVAs.
type peImage struct {
	sizeOfImage, entryRVA, timeDateStamp, checkSum uint32
	exportDir                                      peDir // generated images only
	chunks                                         []peChunk
}

type peChunk struct {
	rva  uint32
	data []byte
}

// peHeaders returns a page holding DOS, PE and section headers for a
// native image. Section and file alignment are both 0x1000 and each
// section's raw data sits at its RVA, so the mapped image is also a valid
// file-layout image.
func peHeaders(a *archInfo, imageBase uint64, img peImage, secs []peSection) []byte {
	h := make([]byte, PageSize)
	le := binary.LittleEndian
	copy(h, "MZ")
	const lfanew = 0x80
	le.PutUint32(h[0x3C:], lfanew)
	copy(h[lfanew:], "PE\x00\x00")
	fh := h[lfanew+4:]
	is64 := a.ptrSize == 8
	optSize, chars := 0xE0, uint16(0x0102) // EXECUTABLE_IMAGE | 32BIT_MACHINE
	if is64 {
		optSize, chars = 0xF0, 0x0022 // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE
	}
	le.PutUint16(fh[0:], uint16(a.machine))
	le.PutUint16(fh[2:], uint16(len(secs)))
	le.PutUint32(fh[4:], img.timeDateStamp)
	le.PutUint16(fh[16:], uint16(optSize))
	le.PutUint16(fh[18:], chars)

	oh := fh[20:]
	var codeSize, dataSize uint32
	for _, s := range secs {
		if s.characteristics == scnCode {
			codeSize += s.size
		} else {
			dataSize += s.size
		}
	}
	if is64 {
		le.PutUint16(oh[0:], 0x20B)
	} else {
		le.PutUint16(oh[0:], 0x10B)
	}
	oh[2] = 14 // linker version
	le.PutUint32(oh[4:], codeSize)
	le.PutUint32(oh[8:], dataSize)
	le.PutUint32(oh[0x10:], img.entryRVA)
	le.PutUint32(oh[0x14:], 0x1000) // BaseOfCode
	if is64 {
		le.PutUint64(oh[0x18:], imageBase)
	} else {
		le.PutUint32(oh[0x18:], 0x1000) // BaseOfData
		le.PutUint32(oh[0x1C:], uint32(imageBase))
	}
	le.PutUint32(oh[0x20:], PageSize) // SectionAlignment
	le.PutUint32(oh[0x24:], PageSize) // FileAlignment
	le.PutUint16(oh[0x28:], 10)       // OS version
	le.PutUint16(oh[0x30:], 10)       // subsystem version
	le.PutUint32(oh[0x38:], img.sizeOfImage)
	le.PutUint32(oh[0x3C:], PageSize) // SizeOfHeaders
	le.PutUint32(oh[0x40:], img.checkSum)
	le.PutUint16(oh[0x44:], 1) // IMAGE_SUBSYSTEM_NATIVE
	dirs := 0x60
	if is64 {
		le.PutUint64(oh[0x48:], 0x80000)
		le.PutUint64(oh[0x50:], 0x1000)
		le.PutUint64(oh[0x58:], 0x100000)
		le.PutUint64(oh[0x60:], 0x1000)
		dirs = 0x70
	} else {
		le.PutUint32(oh[0x48:], 0x80000)
		le.PutUint32(oh[0x4C:], 0x1000)
		le.PutUint32(oh[0x50:], 0x100000)
		le.PutUint32(oh[0x54:], 0x1000)
	}
	le.PutUint32(oh[dirs-4:], 16) // NumberOfRvaAndSizes; all directories but the exports empty
	le.PutUint32(oh[dirs:], img.exportDir.rva)
	le.PutUint32(oh[dirs+4:], img.exportDir.size)

	sh := oh[optSize:]
	for i, s := range secs {
		e := sh[i*40:]
		copy(e[:8], s.name)
		le.PutUint32(e[8:], s.size)
		le.PutUint32(e[12:], s.rva)
		le.PutUint32(e[16:], uint32(alignUp(uint64(s.size), PageSize)))
		le.PutUint32(e[20:], s.rva)
		le.PutUint32(e[36:], s.characteristics)
	}
	return h
}

// loadPE reads a PE file in file layout and returns what mapping it needs:
// the headers, then each section's raw data at its RVA.
func loadPE(img []byte) (peImage, error) {
	f, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		return peImage{}, err
	}
	var out peImage
	var sizeOfHeaders uint32
	switch oh := f.OptionalHeader.(type) {
	case *pe.OptionalHeader32:
		out.sizeOfImage, sizeOfHeaders, out.entryRVA, out.checkSum = oh.SizeOfImage, oh.SizeOfHeaders, oh.AddressOfEntryPoint, oh.CheckSum
	case *pe.OptionalHeader64:
		out.sizeOfImage, sizeOfHeaders, out.entryRVA, out.checkSum = oh.SizeOfImage, oh.SizeOfHeaders, oh.AddressOfEntryPoint, oh.CheckSum
	default:
		return peImage{}, fmt.Errorf("no optional header")
	}
	out.timeDateStamp = f.FileHeader.TimeDateStamp
	if out.sizeOfImage == 0 || uint64(out.sizeOfImage) > 1<<30 {
		return peImage{}, fmt.Errorf("SizeOfImage %#x out of range", out.sizeOfImage)
	}
	n := min(int(sizeOfHeaders), len(img), int(out.sizeOfImage))
	out.chunks = append(out.chunks, peChunk{0, img[:n]})
	for _, s := range f.Sections {
		size := s.Size
		if s.VirtualSize != 0 && s.VirtualSize < size {
			size = s.VirtualSize
		}
		if size == 0 {
			continue
		}
		if uint64(s.Offset)+uint64(size) > uint64(len(img)) {
			return peImage{}, fmt.Errorf("section %s: raw data %#x+%#x past the end of the file (%#x)", s.Name, s.Offset, size, len(img))
		}
		if uint64(s.VirtualAddress)+uint64(size) > uint64(out.sizeOfImage) {
			return peImage{}, fmt.Errorf("section %s: %#x+%#x past SizeOfImage %#x", s.Name, s.VirtualAddress, size, out.sizeOfImage)
		}
		out.chunks = append(out.chunks, peChunk{s.VirtualAddress, img[s.Offset : s.Offset+size]})
	}
	return out, nil
}

// memory returns the image as mapped: its chunks at their RVAs in a
// SizeOfImage buffer.
func (img peImage) memory() []byte {
	mem := make([]byte, img.sizeOfImage)
	for _, c := range img.chunks {
		if int(c.rva) < len(mem) {
			copy(mem[c.rva:], c.data)
		}
	}
	return mem
}
