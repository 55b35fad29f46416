package peimage

import "fmt"

// A FormatError says which field of the headers, at which offset from the
// start of the image, is wrong. Callers add the name of the file or module.
type FormatError struct {
	Field  string // such as "e_lfanew" or "NumberOfSections"
	Offset int64  // offset of the field from the start of the image
	Msg    string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("bad PE image: %s at offset %#x: %s", e.Field, e.Offset, e.Msg)
}
