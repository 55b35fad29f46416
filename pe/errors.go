package pe

import "fmt"

// A FormatError reports that a file is not a well-formed PE image: which
// field, at which file offset, is wrong.
type FormatError struct {
	Path   string // file name, or a description of the buffer
	Field  string // structure field, such as "e_lfanew" or "section .text"
	Offset int64  // file offset of the field, -1 when not known
	Msg    string
}

func (e *FormatError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("%s: bad PE image: %s at offset %#x: %s", e.Path, e.Field, e.Offset, e.Msg)
	}
	return fmt.Sprintf("%s: bad PE image: %s: %s", e.Path, e.Field, e.Msg)
}
