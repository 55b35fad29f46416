package main

// bcryptprimitives.dll for Wine 8, which lacks it. Go's runtime on Windows
// loads that DLL from System32 at start for ProcessPrng, its source of
// random bytes, and stops when it is missing, so no Go program runs under
// Debian 12's Wine without it.
//
// The DLL holds no code: its one export, ProcessPrng, forwards to
// advapi32's SystemFunction036 (RtlGenRandom), which Wine has and which
// takes the same arguments (buffer, length) and returns non-zero on
// success. It is an x64 image, for windows/amd64 test binaries.

import (
	"bytes"
	"encoding/binary"
)

// Layout: headers in the first 0x200 bytes of the file, one read-only
// section holding the export directory at RVA 0x1000 (file offset 0x200).
const (
	fileAlign    = 0x200
	sectionAlign = 0x1000
	sectionRVA   = 0x1000
	imageBase    = 0x180000000
	peOffset     = 0x40
)

// bcryptImage builds the DLL.
func bcryptImage() []byte {
	sec := exportSection()
	rawSize := (len(sec) + fileAlign - 1) &^ (fileAlign - 1)
	virtSize := (len(sec) + sectionAlign - 1) &^ (sectionAlign - 1)

	var b bytes.Buffer
	le := func(v any) { mustWrite(&b, v) }

	// DOS header: only e_magic and e_lfanew matter.
	dos := make([]byte, peOffset)
	copy(dos, "MZ")
	binary.LittleEndian.PutUint32(dos[0x3C:], peOffset)
	b.Write(dos)

	b.WriteString("PE\x00\x00")
	// COFF file header.
	le(uint16(0x8664)) // Machine: AMD64
	le(uint16(1))      // NumberOfSections
	le(uint32(0))      // TimeDateStamp
	le(uint32(0))      // PointerToSymbolTable
	le(uint32(0))      // NumberOfSymbols
	le(uint16(0xF0))   // SizeOfOptionalHeader (PE32+ with 16 directories)
	le(uint16(0x2022)) // EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE | DLL

	// Optional header, PE32+.
	le(uint16(0x20B))                           // Magic
	le(uint8(14))                               // MajorLinkerVersion
	le(uint8(0))                                // MinorLinkerVersion
	le(uint32(0))                               // SizeOfCode
	le(uint32(rawSize))                         // SizeOfInitializedData
	le(uint32(0))                               // SizeOfUninitializedData
	le(uint32(0))                               // AddressOfEntryPoint: none, no DllMain
	le(uint32(sectionRVA))                      // BaseOfCode
	le(uint64(imageBase))                       // ImageBase
	le(uint32(sectionAlign))                    // SectionAlignment
	le(uint32(fileAlign))                       // FileAlignment
	le(uint16(6))                               // MajorOperatingSystemVersion
	le(uint16(0))                               // MinorOperatingSystemVersion
	le(uint16(0))                               // MajorImageVersion
	le(uint16(0))                               // MinorImageVersion
	le(uint16(6))                               // MajorSubsystemVersion
	le(uint16(0))                               // MinorSubsystemVersion
	le(uint32(0))                               // Win32VersionValue
	le(uint32(sectionRVA + virtSize))           // SizeOfImage
	le(uint32(fileAlign))                       // SizeOfHeaders
	le(uint32(0))                               // CheckSum
	le(uint16(3))                               // Subsystem: console
	le(uint16(0x0160))                          // DllCharacteristics: HIGH_ENTROPY_VA | DYNAMIC_BASE | NX_COMPAT (nothing to relocate)
	le(uint64(0x100000))                        // SizeOfStackReserve
	le(uint64(0x1000))                          // SizeOfStackCommit
	le(uint64(0x100000))                        // SizeOfHeapReserve
	le(uint64(0x1000))                          // SizeOfHeapCommit
	le(uint32(0))                               // LoaderFlags
	le(uint32(16))                              // NumberOfRvaAndSizes
	le([2]uint32{sectionRVA, uint32(len(sec))}) // export directory
	for range 15 {
		le([2]uint32{})
	}

	// Section header.
	var name [8]byte
	copy(name[:], ".edata")
	b.Write(name[:])
	le(uint32(len(sec)))   // VirtualSize
	le(uint32(sectionRVA)) // VirtualAddress
	le(uint32(rawSize))    // SizeOfRawData
	le(uint32(fileAlign))  // PointerToRawData
	le(uint32(0))          // PointerToRelocations
	le(uint32(0))          // PointerToLinenumbers
	le(uint16(0))          // NumberOfRelocations
	le(uint16(0))          // NumberOfLinenumbers
	le(uint32(0x40000040)) // INITIALIZED_DATA | MEM_READ

	b.Write(make([]byte, fileAlign-b.Len()))
	b.Write(sec)
	b.Write(make([]byte, rawSize-len(sec)))
	return b.Bytes()
}

// exportSection is the export directory with one named export whose
// address lies inside the directory: the loader reads it as a forwarder
// string, "DLL.Function".
func exportSection() []byte {
	const (
		dirSize   = 40
		eatOff    = dirSize      // one function address
		namesOff  = eatOff + 4   // one name pointer
		ordsOff   = namesOff + 4 // one ordinal
		stringOff = ordsOff + 4  // (2 bytes of ordinal, 2 of padding)
	)
	strs := []string{"bcryptprimitives.dll", "ProcessPrng", "advapi32.SystemFunction036"}
	rva := make([]uint32, len(strs))
	var s bytes.Buffer
	for i, str := range strs {
		rva[i] = uint32(sectionRVA + stringOff + s.Len())
		s.WriteString(str)
		s.WriteByte(0)
	}
	var b bytes.Buffer
	le := func(v any) { mustWrite(&b, v) }
	le(uint32(0))                     // Characteristics
	le(uint32(0))                     // TimeDateStamp
	le(uint16(0))                     // MajorVersion
	le(uint16(0))                     // MinorVersion
	le(rva[0])                        // Name
	le(uint32(1))                     // Base (first ordinal)
	le(uint32(1))                     // NumberOfFunctions
	le(uint32(1))                     // NumberOfNames
	le(uint32(sectionRVA + eatOff))   // AddressOfFunctions
	le(uint32(sectionRVA + namesOff)) // AddressOfNames
	le(uint32(sectionRVA + ordsOff))  // AddressOfNameOrdinals
	le(rva[2])                        // ProcessPrng -> the forwarder string
	le(rva[1])                        // "ProcessPrng"
	le(uint16(0))                     // its index in the function table
	le(uint16(0))                     // padding
	b.Write(s.Bytes())
	return b.Bytes()
}

// mustWrite appends v little-endian. Writing to a bytes.Buffer fails only
// for a value without a fixed size: a mistake here, not a condition.
func mustWrite(b *bytes.Buffer, v any) {
	if err := binary.Write(b, binary.LittleEndian, v); err != nil {
		panic(err)
	}
}
