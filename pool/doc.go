// Package pool rebuilds the kernel's pool tag accounting (what WinDbg's
// !poolused and poolmon show) from a crash dump's pool tracker tables,
// and measures how close each pool was to its limit.
package pool
