package dumpfile

import (
	"errors"
	"fmt"
)

// FormatError reports a field of the dump whose value cannot be right.
type FormatError struct {
	Off   int64  // file offset of the field
	Field string // name of the field, as in mindumpdef.h where it has one
	Val   any    // the value read, or nil
	Msg   string
}

func (e *FormatError) Error() string {
	s := e.Msg
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Val != nil {
		s += fmt.Sprintf(" (%#x)", e.Val)
	}
	if e.Off >= 0 {
		s += fmt.Sprintf(" at offset %#x", e.Off)
	}
	return s
}

// Errors a read of kernel memory can end with. Match them with errors.Is;
// the concrete error is an *AddressError saying which address and why.
var (
	// ErrNotMapped: the page tables do not map the address to physical
	// memory (never mapped, paged out, or a prototype PTE).
	ErrNotMapped = errors.New("not mapped in physical memory (paged out or invalid)")
	// ErrPageAbsent: the address is mapped, but the physical page was not
	// written to the dump.
	ErrPageAbsent = errors.New("physical page absent from the dump")
	// ErrNoPhysicalMemory: the dump type carries no physical pages.
	ErrNoPhysicalMemory = errors.New("dump carries no physical memory")
	// ErrUnsupportedPaging: the dump's page-table format is not read
	// (ARM32's ARMv7 short descriptors).
	ErrUnsupportedPaging = errors.New("page tables of this architecture are not supported")
	// ErrTruncated: the page lies past the end of a truncated file.
	ErrTruncated = errors.New("page lies past the end of the file (truncated dump)")
)

// AddressError is a failed read at a virtual or physical address.
type AddressError struct {
	Addr     uint64
	Physical bool   // Addr is a physical address
	Level    string // page-table level where translation stopped, if any
	Entry    uint64 // that entry's value
	Err      error  // ErrNotMapped, ErrPageAbsent, ErrNoPhysicalMemory or ErrTruncated
}

func (e *AddressError) Error() string {
	kind := "virtual address"
	if e.Physical {
		kind = "physical address"
	}
	s := fmt.Sprintf("%s %#x: %v", kind, e.Addr, e.Err)
	if e.Level != "" {
		s += fmt.Sprintf(" (%s entry %#x)", e.Level, e.Entry)
	}
	return s
}

func (e *AddressError) Unwrap() error { return e.Err }
