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
// are encoded with a key the dump does not give. Blocks are placed at
// their virtual addresses by one walk of the system page tables; a block
// on a physical page the system address space does not map is stale (or
// in session space) and is counted apart.
package poolscan
