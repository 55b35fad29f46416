// Package snapshot parses pool usage captured on live machines (poolmon
// screens and logs, WinDbg !poolused text, HTTP.SYS error logs) into the
// pool tag model.
//
// Each parser keeps to what its source says. poolmon's Allocs and Frees
// count calls since boot and its Bytes are the bytes held now; !poolused
// prints outstanding allocations and bytes only, so a Snapshot made from
// it carries the outstanding counts in Outstanding and says so in Notes.
// A source that lists only some tags (a poolmon screen shows what fits its
// window; a pasted excerpt ends in "...") gives a Snapshot with Partial set
// and a note saying what is missing.
package snapshot
