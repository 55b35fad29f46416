package dumptest

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
)

// Spec describes a dump in JSON, for Build and cmd/mkdump. Config fields
// appear at the top level, with Arch and Type also accepted by name
// ("x64", "bitmap") and Uptime as a duration ("36h") or seconds.
// Addresses may be numbers or strings ("0xfffff80000400000"). Unknown
// fields are errors.
type Spec struct {
	Config
	Pages   []PageSpec
	Modules []ModuleSpec
	KDBG    map[string]uint64 // field name ("PoolTrackTable") or offset ("0x1B8") -> value
}

// PageSpec maps memory at VA and optionally fills it.
type PageSpec struct {
	VA   Addr
	Kind string // "page" (default), "large", "transition", "pagedout", "absent"
	// Size: for "large" the page size; for "page" and "transition" how many
	// bytes to map (default: the data's length, at least one page).
	Size uint64
	Hex  string // data as hex (spaces allowed), or
	Text string // data as text, or
	Fill byte   // Size bytes of this value
}

// ModuleSpec is a Module in a Spec. File names a PE file to map; cmd/mkdump
// resolves it relative to the spec file.
type ModuleSpec struct {
	Name, Path                    string
	Base                          Addr
	File                          string
	Size, TimeDateStamp, CheckSum uint32
	PagedOut                      []int
	Exports                       []string
	DiscardImports                bool
}

// Addr is an address that reads from JSON as a number or as a string in
// Go syntax ("0x1000").
type Addr uint64

// UnmarshalJSON implements json.Unmarshaler.
func (a *Addr) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return fmt.Errorf("address %s: not a number", data)
	}
	*a = Addr(v)
	return nil
}

var archNames = map[string]dumpfile.Arch{
	"x86": dumpfile.ArchX86, "x86pae": dumpfile.ArchX86PAE, "pae": dumpfile.ArchX86PAE,
	"x64": dumpfile.ArchAMD64, "amd64": dumpfile.ArchAMD64, "arm64": dumpfile.ArchARM64, "arm32": dumpfile.ArchARM32, "arm": dumpfile.ArchARM32,
}

var typeNames = map[string]dumpfile.DumpType{
	"full": dumpfile.TypeFull, "summary": dumpfile.TypeSummary, "triage": dumpfile.TypeTriage,
	"bitmap": dumpfile.TypeBitmapFull, "bitmap-kernel": dumpfile.TypeBitmapKernel,
	"rdmp-kernel": dumpfile.TypeRDMPKernel, "rdmp-active": dumpfile.TypeRDMPActive, "rdmp-full": dumpfile.TypeRDMPFull,
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *Spec) UnmarshalJSON(data []byte) error {
	type plain Spec // without this method
	aux := struct {
		*plain
		Arch   json.RawMessage
		Type   json.RawMessage
		Uptime json.RawMessage
		KDBG   map[string]Addr
	}{plain: (*plain)(s)}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&aux); err != nil {
		return err
	}
	var err error
	if s.Arch, err = nameOrNumber(aux.Arch, "Arch", archNames); err != nil {
		return err
	}
	if s.Type, err = nameOrNumber(aux.Type, "Type", typeNames); err != nil {
		return err
	}
	if len(aux.Uptime) > 0 {
		var str string
		var secs float64
		switch {
		case json.Unmarshal(aux.Uptime, &str) == nil:
			if s.Uptime, err = time.ParseDuration(str); err != nil {
				return fmt.Errorf("bad Uptime: %w", err)
			}
		case json.Unmarshal(aux.Uptime, &secs) == nil:
			s.Uptime = time.Duration(secs * float64(time.Second))
		default:
			return fmt.Errorf("bad Uptime %s: want a duration string or seconds", aux.Uptime)
		}
	}
	if aux.KDBG != nil {
		s.KDBG = make(map[string]uint64, len(aux.KDBG))
		for k, v := range aux.KDBG {
			s.KDBG[k] = uint64(v)
		}
	}
	return nil
}

func nameOrNumber[T ~int | ~uint32](raw json.RawMessage, field string, names map[string]T) (T, error) {
	if len(raw) == 0 {
		return 0, nil
	}
	var name string
	if json.Unmarshal(raw, &name) == nil {
		if v, ok := names[strings.ToLower(name)]; ok {
			return v, nil
		}
		known := make([]string, 0, len(names))
		for k := range names {
			known = append(known, k)
		}
		slices.Sort(known)
		return 0, fmt.Errorf("%s %q: want one of %s or a number", field, name, strings.Join(known, ", "))
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, fmt.Errorf("%s %s: want a name or a number", field, raw)
	}
	return T(n), nil
}

// misuseError is what Builder methods panic with on misuse; Build turns
// it into an error.
type misuseError string

func (e misuseError) Error() string { return string(e) }

// Build makes a Builder from s: modules first, then pages, then KDBG
// fields. Misuse that would make a Builder method panic is returned as an
// error instead.
func Build(s Spec) (b *Builder, err error) {
	if err := s.Config.Validate(); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(misuseError)
			if !ok {
				panic(r)
			}
			b, err = nil, e
		}
	}()
	b = New(s.Config)
	for i, m := range s.Modules {
		mod := Module{
			Name: m.Name, Path: m.Path, Base: uint64(m.Base),
			Size: m.Size, TimeDateStamp: m.TimeDateStamp, CheckSum: m.CheckSum,
			PagedOut: m.PagedOut, Exports: m.Exports, DiscardImports: m.DiscardImports,
		}
		if m.File != "" {
			if mod.Image, err = os.ReadFile(m.File); err != nil {
				return nil, fmt.Errorf("in Modules[%d]: %w", i, err)
			}
		}
		b.AddModule(mod)
	}
	for i, p := range s.Pages {
		if err := b.applyPage(p); err != nil {
			return nil, fmt.Errorf("in Pages[%d] at %#x: %w", i, uint64(p.VA), err)
		}
	}
	fields := make([]string, 0, len(s.KDBG))
	for k := range s.KDBG {
		fields = append(fields, k)
	}
	slices.Sort(fields)
	for _, k := range fields {
		off, ok := KDBGOffset(k)
		if !ok {
			return nil, fmt.Errorf("KDBG: unknown field %q", k)
		}
		b.SetKDBG(off, s.KDBG[k])
	}
	return b, nil
}

// applyPage carries out one PageSpec.
func (b *Builder) applyPage(p PageSpec) error {
	var data []byte
	set := 0
	if p.Hex != "" {
		var err error
		if data, err = hex.DecodeString(strings.Join(strings.Fields(p.Hex), "")); err != nil {
			return fmt.Errorf("bad Hex: %w", err)
		}
		set++
	}
	if p.Text != "" {
		data = []byte(p.Text)
		set++
	}
	if p.Fill != 0 {
		set++
	}
	if set > 1 {
		return fmt.Errorf("give one of Hex, Text and Fill")
	}
	va := uint64(p.VA)
	switch p.Kind {
	case "", "page", "transition":
		if p.Fill != 0 {
			if p.Size == 0 {
				return fmt.Errorf("a Fill needs a Size")
			}
			data = bytes.Repeat([]byte{p.Fill}, int(min(p.Size, 1<<30)))
		}
		if uint64(len(data)) < p.Size {
			data = append(data, make([]byte, p.Size-uint64(len(data)))...)
		}
		if p.Kind == "transition" {
			b.MapTransition(va, data)
		} else {
			b.Map(va, data)
		}
	case "large":
		if p.Fill != 0 {
			return fmt.Errorf("a Fill does not apply to large pages; write Hex or Text")
		}
		b.MapLarge(va, p.Size)
		b.Write(va, data)
	case "pagedout", "absent":
		if set > 0 || p.Size != 0 {
			return fmt.Errorf("a %s page holds no data", p.Kind)
		}
		if p.Kind == "absent" {
			b.MapAbsent(va)
		} else {
			b.MapPagedOut(va)
		}
	default:
		return fmt.Errorf("unknown Kind %q (want page, large, transition, pagedout or absent)", p.Kind)
	}
	return nil
}
