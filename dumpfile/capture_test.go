package dumpfile_test

import (
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/internal/realdata"
)

// A real DumpIt capture: 'MATT' and 'MOONSOLS' are the tool's signature,
// not a bug check.
func TestCaptureToolRealHeader(t *testing.T) {
	raw := realdata.Read(t, "headers/dumpit_full_19045_first16k.bin")
	f, err := dumpfile.NewFile("dumpit.dmp", dumpfile.Bytes(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	if f.BugCheckCode != 0x5454414D || f.CaptureTool() != "DumpIt" {
		t.Errorf("bugcheck %#x, capture %q; want MATT and DumpIt", f.BugCheckCode, f.CaptureTool())
	}
	if !hasWarning(f, "truncated") {
		t.Errorf("warnings %q: the file is cut", f.Warnings)
	}
}

func TestCaptureToolNeedsBothSignatures(t *testing.T) {
	tests := []struct {
		code   uint32
		p1, p2 uint64
		want   string
	}{
		{0x5454414D, 0x4e4f4f4d, 0x534c4f53, "DumpIt"},
		{0x5454414D, 0, 0, ""},                   // MATT alone
		{0xE2, 0x4e4f4f4d, 0x534c4f53, ""},       // a crash with odd parameters
		{0x5454414D, 0x534c4f53, 0x4e4f4f4d, ""}, // spelled backwards
	}
	for _, tt := range tests {
		h := dumpfile.Header{BugCheckCode: tt.code}
		h.BugCheckParameters[0], h.BugCheckParameters[1] = tt.p1, tt.p2
		if got := h.CaptureTool(); got != tt.want {
			t.Errorf("%#x %#x %#x: %q, want %q", tt.code, tt.p1, tt.p2, got, tt.want)
		}
	}
}
