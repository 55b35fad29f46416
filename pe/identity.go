package pe

import (
	"bytes"
	"strings"
	"time"

	peparser "github.com/saferwall/pe"
)

// Signature describes the embedded Authenticode signature.
//
// HashMatches compares the digest the signer signed with the file's own
// Authenticode digest: true means the file is byte for byte what was
// signed. The certificate chain is not verified (Microsoft's roots are not
// in Linux trust stores), so the signer names are what the signature says.
type Signature struct {
	Embedded    bool     `json:"embedded"`
	Signer      string   `json:"signer,omitempty"` // subject CN of the signing certificate
	Issuer      string   `json:"issuer,omitempty"` // issuer CN of the signing certificate
	Digest      string   `json:"digest,omitempty"` // digest algorithm, such as SHA-256
	HashMatches bool     `json:"hash_matches"`
	HashChecked bool     `json:"hash_checked"`     // the hash was computed and compared: !HashMatches is then a mismatch
	Nested      []string `json:"nested,omitempty"` // signer CNs of nested (dual) signatures
	Note        string   `json:"note,omitempty"`
}

// Signer common names Microsoft uses for its own images. Third-party
// drivers signed through the hardware dashboard carry "Microsoft Windows
// Hardware Compatibility Publisher" (and early-launch anti-malware drivers
// "... Early Launch Anti-malware Publisher"): Microsoft signed them, but did
// not write them.
var microsoftSigners = map[string]bool{
	"Microsoft Windows":           true,
	"Microsoft Windows Publisher": true,
	"Microsoft Corporation":       true,
}

// isMicrosoft reports whether an image is Microsoft's own: its CompanyName
// says so, or it has no CompanyName and a Windows component signature.
func isMicrosoft(company, signer string) bool {
	if company != "" {
		return strings.Contains(strings.ToLower(company), "microsoft")
	}
	return microsoftSigners[signer]
}

// readHeaderIdentity fills in what the PE headers say.
func readHeaderIdentity(d *Driver, f *peparser.File) {
	fh := f.NtHeader.FileHeader
	d.Machine = Machine(fh.Machine)
	d.timestamp = fh.TimeDateStamp
	d.TimeDateStamp = time.Unix(int64(fh.TimeDateStamp), 0).UTC()
	switch oh := f.NtHeader.OptionalHeader.(type) {
	case peparser.ImageOptionalHeader64:
		d.CheckSum, d.SizeOfImage = oh.CheckSum, oh.SizeOfImage
	case peparser.ImageOptionalHeader32:
		d.CheckSum, d.SizeOfImage = oh.CheckSum, oh.SizeOfImage
	}
}

// readIdentity fills in what sigcheck would show, from the data
// directories.
func readIdentity(d *Driver, f *peparser.File) {
	for _, e := range f.Debugs {
		switch e.Struct.Type {
		case peparser.ImageDebugTypeRepro:
			d.Reproducible = true
		case peparser.ImageDebugTypeCodeView:
			if cv, ok := e.Info.(peparser.CVInfoPDB70); ok && d.PDB == nil {
				d.PDB = pdbOf(cv)
			}
		}
	}
	d.Version = readVersion(f)
	d.Signature = readSignature(d, f)
	d.Microsoft = isMicrosoft(d.Version.CompanyName, d.Signature.Signer)
}

const rtVersion = 16 // RT_VERSION

// readVersion finds the RT_VERSION resource in saferwall's resource tree
// (type, then name, then language) and decodes it, VS_FIXEDFILEINFO
// included, which saferwall does not expose.
func readVersion(f *peparser.File) VersionInfo {
	for _, t := range f.Resources.Entries {
		if t.ID != rtVersion || t.Name != "" {
			continue
		}
		for _, n := range t.Directory.Entries {
			langs := n.Directory.Entries
			if len(langs) == 0 {
				continue
			}
			pick := langs[0]
			for _, l := range langs {
				if l.ID == 0x409 {
					pick = l
					break
				}
			}
			de := pick.Data.Struct
			b, err := f.GetData(de.OffsetToData, de.Size)
			if err != nil || len(b) < int(de.Size) || de.Size == 0 {
				return VersionInfo{Note: "version resource data lies outside the file"}
			}
			vi, err := parseVersionInfo(b)
			if err != nil {
				vi.Note = "version resource unreadable: " + err.Error()
			}
			return vi
		}
	}
	return VersionInfo{Note: "no version resource"}
}

// readSignature reads the embedded Authenticode signature and checks its
// digest against the file.
func readSignature(d *Driver, f *peparser.File) Signature {
	var s Signature
	if d.Layout == MappedLayout {
		s.Note = "image read from memory: the signature is not loaded with it"
		return s
	}
	certs := f.Certificates.Certificates
	if !f.HasCertificate {
		s.Note = "no embedded signature (may be catalog-signed)"
		return s
	}
	s.Embedded = true
	if len(certs) == 0 {
		s.Note = "embedded signature present but unreadable"
		return s
	}
	c := certs[0]
	if signer := c.Content.GetOnlySigner(); signer != nil {
		s.Signer = signer.Subject.CommonName
		s.Issuer = signer.Issuer.CommonName
	}
	for _, n := range certs[1:] {
		if signer := n.Content.GetOnlySigner(); signer != nil {
			s.Nested = append(s.Nested, signer.Subject.CommonName)
		}
	}
	h := c.SignatureContent.HashFunction
	if h == 0 || !h.Available() || len(c.SignatureContent.HashResult) == 0 {
		s.Note = "signature digest algorithm not recognised: hash not checked"
		return s
	}
	s.Digest = h.String()
	sums := f.AuthentihashExt(h.New())
	if len(sums) == 0 {
		s.Note = "Authenticode hash could not be computed: headers do not cover the certificate table"
		return s
	}
	s.HashChecked = true
	s.HashMatches = bytes.Equal(sums[0], c.SignatureContent.HashResult)
	if !s.HashMatches {
		s.Note = "file changed after signing: Authenticode hash does not match the signature"
	}
	return s
}
