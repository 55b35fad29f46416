// Package dumptest builds Windows kernel crash dump files from a readable
// description, so that tests can make exactly the dump they need, in the
// spirit of net/http/httptest.
//
// A Builder lays out physical memory, builds real page tables for the
// chosen architecture (x86, x86 PAE, x64, ARM64, and ARM32 with ARMv7
// short descriptors; ARM32 has no software entries: transition and paged
// out are not modelled), maps a kernel image with
// its loaded-module list and KDBG block, binds drivers' imports to the
// pool routines the kernel exports, and writes any of the dump
// containers Windows uses (run-based, summary, bitmap, RDMP, triage)
// following the layouts in the project's dump-format reference. Methods
// that describe memory panic on misuse, as a test helper should; writing
// the file returns an error. Build does the same from a JSON Spec and
// turns misuse into errors; cmd/mkdump writes a dump from a spec file.
//
// Every random choice (encoding keys, physical placement) comes from
// Config.Seed, so the same Config gives the same bytes. Only pages that
// hold data are kept in memory; padding pages are never materialised and
// WriteFile leaves them as file holes.
package dumptest
