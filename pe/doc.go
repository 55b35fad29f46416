// Package pe finds which driver image uses a pool tag and reads the driver's identity.
//
// A driver "uses" a tag when its code passes the tag to a kernel pool
// routine. Evidence is ranked, strongest first:
//
//   - CallSite: the tag is the tag argument of a call to an imported pool
//     routine (ExAllocatePoolWithTag, ExFreePoolWithTag, the lookaside list
//     initialisers, ...), directly or through a local wrapper function that
//     passes its own argument on;
//   - Immediate: an instruction immediate equals the tag;
//   - Bytes: the tag's four bytes appear somewhere in the file, which is
//     all that findstr /m /l finds.
//
// Images read from a crash dump have usually lost their import names with
// their INIT section; ScanLoadedWith recognises their IAT slots by the
// addresses the loader wrote there, through the export tables of the
// modules loaded in the same dump (KernelExports).
//
// The protected bit 0x80000000 is masked everywhere: 'Tag'|0x80000000 is the
// same tag. Identity (machine, timestamps, version resource, Authenticode
// signer) is read alongside, so that a report can name the file a user can
// look up. PE structures are parsed with github.com/saferwall/pe; x86, x64
// and ARM64 code is decoded with golang.org/x/arch.
package pe

//go:generate go run ./internal/mkdrivers -o testdata
