// Package poolscan reads the kernel pool itself, not its tracker: one pass
// over the physical pages a dump holds finds every pool block of the tags
// asked for, and the big page table gives the allocations of a page or
// more. The result is independent evidence against which the tracker's
// outstanding counts can be checked (CrossCheck), and a way to look
// inside the leaked blocks (Contents).
//
// Classic pool pages (Windows XP to 10 1803) are recognised by POOL_HEADER
// chains that tile the page; segment-heap pages (Windows 10 1809 on) by
// headers that fit their neighbours, since the chunk headers in between
// are encoded with a key the dump does not give. LFH subsegment headers
// say which of their blocks are free once their encoded block offsets are
// decoded, with a key the scan solves from the blocks themselves (lfh.go).
// A walk of the system
// page tables before the pass says which physical pages the system maps;
// a block on a page it does not map is stale (or in session space) and
// is counted apart. A Result holds counts, sizes and a bounded sample per
// tag, never every block, so a scan's memory does not grow with what it
// finds; Result.Walk lists the blocks by reading their pages again.
package poolscan
