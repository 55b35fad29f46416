package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "x.json")
	out := filepath.Join(dir, "x.dmp")
	body := `{"Arch": "x86pae", "Type": "full", "Pages": [{"VA": "0x9a000000", "Text": "hello"}]}`
	if err := os.WriteFile(spec, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if code := run([]string{"-spec", spec, "-o", out}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(data[:8]) != "PAGEDUMP" || binary.LittleEndian.Uint32(data[0xF88:]) != 1 || data[0x5C] != 1 {
		t.Errorf("header %q type %d PAE %d", data[:8], binary.LittleEndian.Uint32(data[0xF88:]), data[0x5C])
	}
	if got := binary.LittleEndian.Uint64(data[0xFA0:]); got != uint64(len(data)) {
		t.Errorf("RequiredDumpSpace %#x, file %#x", got, len(data))
	}
	if !bytes.Contains(data, []byte("hello")) {
		t.Error("page data missing")
	}

	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"-spec", filepath.Join(dir, "missing.json"), "-o", out}, 1, "missing.json"},
	} {
		stderr.Reset()
		if code := run(tt.args, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("run(%q) = %d, %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}
