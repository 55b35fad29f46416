package main

import (
	"bytes"
	"debug/pe"
	"testing"

	saferwall "github.com/saferwall/pe"
)

// The image is a valid x64 DLL whose one export, ProcessPrng, forwards to
// advapi32.SystemFunction036, as read by two independent PE readers.
func TestBcryptImage(t *testing.T) {
	img := bcryptImage()
	f, err := pe.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	oh, ok := f.OptionalHeader.(*pe.OptionalHeader64)
	if !ok || f.Machine != pe.IMAGE_FILE_MACHINE_AMD64 || f.Characteristics&pe.IMAGE_FILE_DLL == 0 {
		t.Fatalf("machine %#x, characteristics %#x, PE32+ %v", f.Machine, f.Characteristics, ok)
	}
	if oh.AddressOfEntryPoint != 0 || int(oh.SizeOfImage) != sectionRVA+sectionAlign {
		t.Errorf("entry %#x, image size %#x", oh.AddressOfEntryPoint, oh.SizeOfImage)
	}
	sp, err := saferwall.NewBytes(img, &saferwall.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Parse(); err != nil {
		t.Fatal(err)
	}
	ex := sp.Export
	if ex.Name != "bcryptprimitives.dll" || len(ex.Functions) != 1 {
		t.Fatalf("exports %q %+v", ex.Name, ex.Functions)
	}
	if fn := ex.Functions[0]; fn.Name != "ProcessPrng" || fn.Forwarder != "advapi32.SystemFunction036" || fn.Ordinal != 1 {
		t.Errorf("export %+v", fn)
	}
}
