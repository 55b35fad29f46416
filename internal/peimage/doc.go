// Package peimage reads the headers of a PE image (DOS header, NT headers,
// optional header, data directories, section table) from an io.ReaderAt,
// the way debug/pe does, but bounded for hostile input: every offset and
// count is checked against the bytes the caller says can be read before
// anything is allocated or read, and what is wrong is a *FormatError
// naming the field and its offset.
//
// It serves images on disk and images found in a dump's memory alike:
// the headers sit at the same offsets in both layouts, so offsets here are
// file offsets and RVAs at once. It imports nothing of the project, so
// every package that meets a PE image may use it.
package peimage
