package pe

import "github.com/poolblame/poolblame/dumpfile"

// MatchLoaded compares a driver file with a module loaded in a dump: the
// same build when TimeDateStamp and SizeOfImage agree. It does not change
// d, so one Catalog can serve many dumps at once.
func MatchLoaded(d *Driver, m dumpfile.Module) *Loaded { return matchLoaded(d, m) }
