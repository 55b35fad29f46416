package petest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
)

// Fixture is a committed test driver: its file name under pe/testdata and
// how it is built.
type Fixture struct {
	Name   string
	Driver Driver
}

// Fixtures are the synthetic drivers committed under pe/testdata. The same
// tags are used by three architectures; decoy.sys holds the real users'
// tags only as bytes in its data, and uses a tag of its own.
func Fixtures() []Fixture {
	ver := func(desc string) *Version {
		return &Version{
			CompanyName: "Contoso Ltd.", FileDescription: desc, ProductName: "Contoso Synthetic Driver",
			OriginalFilename: "contoso.sys", LegalCopyright: "Copyright (c) Contoso Ltd.",
			FileVersion: [4]uint16{2, 5, 1200, 7}, ProductVersion: [4]uint16{2, 5, 0, 0},
		}
	}
	tags := func(m uint16, desc string, ts uint32) Driver {
		return Driver{
			Machine:       m,
			AllocTags:     []uint32{Tag("Tst1"), Tag("Tst2"), Tag("Prot") | 0x80000000},
			WrappedTags:   []uint32{Tag("Wrp1"), Tag("Wrp2")},
			OtherArgTags:  []uint32{Tag("Oth1")},
			TimeDateStamp: ts,
			Version:       ver(desc),
		}
	}
	return []Fixture{
		{"contoso_x64.sys", tags(X64, "Contoso x64 driver", 0x60000000)},
		{"contoso_x86.sys", tags(X86, "Contoso x86 driver", 0x60000001)},
		{"contoso_arm64.sys", tags(ARM64, "Contoso ARM64 driver", 0x60000002)},
		{"decoy.sys", Driver{
			Machine:       X64,
			AllocTags:     []uint32{Tag("Dcy1")},
			DataTags:      []uint32{Tag("Tst1"), Tag("Tst1"), Tag("Tst1"), Tag("Wrp1"), Tag("Tst2")},
			TimeDateStamp: 0x60000003,
		}},
	}
}

// Many returns n varied drivers for benchmarks, the same for the same seed:
// the three machines in turn, each with 10 to 40 tags allocated directly,
// a few through a wrapper, and some tags of other drivers as data.
func Many(n int, seed uint64) []Fixture {
	r := rand.New(rand.NewPCG(seed, 0x706f6f6c))
	randTag := func() uint32 {
		const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
		var b [4]byte
		for i := range b {
			b[i] = letters[r.IntN(len(letters))]
		}
		return binary.LittleEndian.Uint32(b[:])
	}
	tags := func(k int) []uint32 {
		out := make([]uint32, k)
		for i := range out {
			out[i] = randTag()
		}
		return out
	}
	machines := []uint16{X64, X86, ARM64}
	var out []Fixture
	for i := 0; i < n; i++ {
		d := Driver{
			Machine:       machines[i%len(machines)],
			AllocTags:     tags(10 + r.IntN(31)),
			WrappedTags:   tags(r.IntN(6)),
			OtherArgTags:  tags(r.IntN(3)),
			DataTags:      tags(r.IntN(10)),
			TimeDateStamp: 0x60000000 + uint32(i),
		}
		if i%2 == 0 {
			d.Version = &Version{CompanyName: fmt.Sprintf("Vendor %d", i), FileDescription: "benchmark driver",
				FileVersion: [4]uint16{1, 0, uint16(i), 0}, ProductVersion: [4]uint16{1, 0, 0, 0}}
		}
		out = append(out, Fixture{Name: fmt.Sprintf("synth%04d.sys", i), Driver: d})
	}
	return out
}
