package pe

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
)

// VersionInfo is the driver's version resource, as Explorer's Details tab
// and sigcheck show it.
type VersionInfo struct {
	CompanyName      string         `json:"company_name,omitempty"`
	FileDescription  string         `json:"file_description,omitempty"`
	FileVersion      string         `json:"file_version,omitempty"`
	ProductName      string         `json:"product_name,omitempty"`
	ProductVersion   string         `json:"product_version,omitempty"`
	OriginalFilename string         `json:"original_filename,omitempty"`
	LegalCopyright   string         `json:"legal_copyright,omitempty"`
	Fixed            *FixedFileInfo `json:"fixed,omitempty"`
	Note             string         `json:"note,omitempty"` // why fields are missing
}

// FixedFileInfo is VS_FIXEDFILEINFO, the language-neutral binary version.
type FixedFileInfo struct {
	FileVersion      string `json:"file_version"`    // FileVersionMS/LS as "a.b.c.d"
	ProductVersion   string `json:"product_version"` // ProductVersionMS/LS as "a.b.c.d"
	FileVersionMS    uint32 `json:"-"`
	FileVersionLS    uint32 `json:"-"`
	ProductVersionMS uint32 `json:"-"`
	ProductVersionLS uint32 `json:"-"`
	FileFlags        uint32 `json:"file_flags"`
	FileOS           uint32 `json:"file_os"`
	FileType         uint32 `json:"file_type"`
	FileSubtype      uint32 `json:"file_subtype"`
}

const fixedFileInfoSignature = 0xFEEF04BD

// versionBlock is one node of the VS_VERSIONINFO tree: every node is
// wLength, wValueLength, wType, a NUL-terminated UTF-16 key, padding to a
// 32-bit boundary, the value, padding, then child nodes.
type versionBlock struct {
	key      string
	value    []byte
	text     bool
	children []byte
}

// readVersionBlock parses the block at the start of b. Offsets inside the
// resource are aligned relative to its start, which is itself aligned, so
// aligning relative to b's start is right when b starts on a boundary.
func readVersionBlock(b []byte) (versionBlock, int, error) {
	if len(b) < 6 {
		return versionBlock{}, 0, fmt.Errorf("block header truncated (%d bytes)", len(b))
	}
	length := int(binary.LittleEndian.Uint16(b))
	valueLen := int(binary.LittleEndian.Uint16(b[2:]))
	typ := binary.LittleEndian.Uint16(b[4:])
	if length < 6 || length > len(b) {
		return versionBlock{}, 0, fmt.Errorf("block length %d outside %d available bytes", length, len(b))
	}
	b = b[:length]
	var blk versionBlock
	p := 6
	var key []uint16
	for ; p+2 <= len(b); p += 2 {
		c := binary.LittleEndian.Uint16(b[p:])
		if c == 0 {
			p += 2
			break
		}
		key = append(key, c)
	}
	blk.key = string(utf16.Decode(key))
	p = align4(p)
	size := valueLen
	blk.text = typ == 1
	if blk.text {
		size *= 2 // text values count UTF-16 units
	}
	if p > len(b) {
		p = len(b)
	}
	end := p + size
	if end > len(b) {
		end = len(b) // some writers count text values in bytes; keep what is there
	}
	blk.value = b[p:end]
	p = align4(end)
	if p < len(b) {
		blk.children = b[p:]
	}
	return blk, align4(length), nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// eachChild calls fn for every block in b.
func eachChild(b []byte, fn func(versionBlock) error) error {
	for len(b) >= 6 {
		blk, n, err := readVersionBlock(b)
		if err != nil {
			return err
		}
		if err := fn(blk); err != nil {
			return err
		}
		if n >= len(b) {
			break
		}
		b = b[n:]
	}
	return nil
}

func utf16String(b []byte) string {
	u := make([]uint16, 0, len(b)/2)
	for i := 0; i+2 <= len(b); i += 2 {
		c := binary.LittleEndian.Uint16(b[i:])
		if c == 0 {
			break
		}
		u = append(u, c)
	}
	return strings.TrimSpace(string(utf16.Decode(u)))
}

func dotted(ms, ls uint32) string {
	return fmt.Sprintf("%d.%d.%d.%d", ms>>16, ms&0xFFFF, ls>>16, ls&0xFFFF)
}

// parseVersionInfo decodes a VS_VERSIONINFO resource. Strings come from the
// first StringTable, preferring US English (0409) when there are several;
// fields missing there are taken from the others.
func parseVersionInfo(b []byte) (VersionInfo, error) {
	var vi VersionInfo
	root, _, err := readVersionBlock(b)
	if err != nil {
		return vi, err
	}
	if root.key != "VS_VERSION_INFO" {
		return vi, fmt.Errorf("root key %q, want VS_VERSION_INFO", root.key)
	}
	if len(root.value) >= 52 && binary.LittleEndian.Uint32(root.value) == fixedFileInfoSignature {
		v := root.value
		u := func(i int) uint32 { return binary.LittleEndian.Uint32(v[4*i:]) }
		vi.Fixed = &FixedFileInfo{
			FileVersionMS: u(2), FileVersionLS: u(3), ProductVersionMS: u(4), ProductVersionLS: u(5),
			FileFlags: u(7) & u(6), FileOS: u(8), FileType: u(9), FileSubtype: u(10),
		}
		vi.Fixed.FileVersion = dotted(u(2), u(3))
		vi.Fixed.ProductVersion = dotted(u(4), u(5))
	}
	var tables []map[string]string
	var langs []string
	err = eachChild(root.children, func(c versionBlock) error {
		if c.key != "StringFileInfo" {
			return nil
		}
		return eachChild(c.children, func(t versionBlock) error {
			m := map[string]string{}
			if err := eachChild(t.children, func(s versionBlock) error {
				m[s.key] = utf16String(s.value)
				return nil
			}); err != nil {
				return err
			}
			tables = append(tables, m)
			langs = append(langs, strings.ToLower(t.key))
			return nil
		})
	})
	for i, l := range langs {
		if strings.HasPrefix(l, "0409") && i > 0 {
			tables[0], tables[i] = tables[i], tables[0]
			break
		}
	}
	get := func(k string) string {
		for _, t := range tables {
			if v := t[k]; v != "" {
				return v
			}
		}
		return ""
	}
	vi.CompanyName = get("CompanyName")
	vi.FileDescription = get("FileDescription")
	vi.FileVersion = get("FileVersion")
	vi.ProductName = get("ProductName")
	vi.ProductVersion = get("ProductVersion")
	vi.OriginalFilename = get("OriginalFilename")
	vi.LegalCopyright = get("LegalCopyright")
	return vi, err
}
