// Package pooltag holds what pool tags are, apart from any dump: the Tag
// type shared by the tracker reader, the driver scanner and the snapshot
// parsers, and the pooltag.txt database of the Debugging Tools for Windows
// (parsed, searched by tag and by binary, and found where the tools are
// installed).
package pooltag
