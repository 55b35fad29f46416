// Package live reads the running kernel's pool tag counters the way
// poolmon does, NtQuerySystemInformation(SystemPoolTagInformation), and
// turns successive samples into poolmon's table: totals per tag and pool,
// the change since the previous sample, and a growth rate since the first.
//
// Decoding the kernel's buffer is portable and tested on built buffers of
// both layouts (32- and 64-bit SYSTEM_POOLTAG); the system call itself is
// the thin Windows-only layer in query_windows.go. Samples can be written as
// poolmon /n snapshot text, which batch and the snapshot parsers read, and
// a run ends as a snapshot (Snapshot) whose growth was measured between
// its first and last samples, for the culprit report.
package live
