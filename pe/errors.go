package pe

import (
	"errors"
	"fmt"

	"github.com/poolblame/poolblame/internal/peimage"
)

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

// imageError names the image in a header reader's FormatError, which
// knows only offsets; other errors (a page a dump does not hold) come back
// as they are.
func imageError(name string, err error) error {
	var fe *peimage.FormatError
	if errors.As(err, &fe) {
		return &FormatError{name, fe.Field, fe.Offset, fe.Msg}
	}
	return err
}
