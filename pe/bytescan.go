package pe

import (
	"encoding/binary"

	"github.com/poolblame/poolblame/pooltag"
)

// scanBytes counts every four-byte window of data that is a kept tag, the
// way findstr /l finds a tag anywhere in a file. The protected bit of the
// last byte is masked like everywhere else.
func (b *evidenceBuilder) scanBytes(data []byte) {
	if b.want != nil {
		// Few tags asked for: reject windows on their first byte before
		// touching the map.
		var first [256]bool
		for t := range b.want {
			first[byte(t)] = true
		}
		for i := 0; i+4 <= len(data); i++ {
			if !first[data[i]] {
				continue
			}
			v := pooltag.Tag(binary.LittleEndian.Uint32(data[i:])).Unprotected()
			if b.want[v] {
				b.bytes[v]++
			}
		}
		return
	}
	for i := 0; i+4 <= len(data); {
		// Find the first non-printable byte of the window: no window
		// containing it can be a tag, so skip past it.
		bad := -1
		for j := 3; j >= 0; j-- {
			c := data[i+j]
			if j == 3 {
				c &^= 0x80
			}
			if c < 0x20 || c > 0x7E {
				bad = j
				break
			}
		}
		if bad >= 0 {
			i += bad + 1
			continue
		}
		b.bytes[pooltag.Tag(binary.LittleEndian.Uint32(data[i:])).Unprotected()]++
		i++
	}
}
