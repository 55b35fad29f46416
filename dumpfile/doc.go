// Package dumpfile reads Windows kernel crash dumps (MEMORY.DMP): the
// header, the physical memory they carry (run-based, summary, bitmap and
// RDMP containers), kernel virtual memory through the dump's page tables
// (x86, x86 PAE, x64 and ARM64), the kernel debugger data block (KDBG) and
// the loaded module list. Triage dumps are recognised; they carry no
// physical memory.
//
// Files are mapped, never loaded: memory use depends on the number of
// physical memory runs or the size of the page bitmap, not on the size of
// the dump, and page lookup is O(1) for bitmaps and O(log runs) for runs.
package dumpfile
