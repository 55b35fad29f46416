//go:build windows

package main

import (
	"os"

	"golang.org/x/sys/windows"
)

// enableEscapes turns on the console's virtual terminal processing
// (Windows 10 1511 and later; conhost's legacy mode refuses it) and
// reports whether it is on.
func enableEscapes(f *os.File) bool {
	h := windows.Handle(f.Fd())
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		return false
	}
	if mode&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0 {
		return true
	}
	return windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) == nil
}
