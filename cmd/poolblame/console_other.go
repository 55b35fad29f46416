//go:build !windows

package main

import "os"

// enableEscapes: terminals outside Windows interpret escapes.
func enableEscapes(*os.File) bool { return true }
