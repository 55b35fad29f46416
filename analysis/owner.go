package analysis

import (
	"strings"

	"github.com/poolblame/poolblame/pe"
)

// splitTextOnly takes out the candidates whose only evidence is the tag's
// bytes in the file: text, not use. Their names come back apart.
func splitTextOnly(cs []Candidate) (kept []Candidate, text []string) {
	kept = cs[:0:0]
	for _, c := range cs {
		if c.Source != FromPooltag && c.Kind() == pe.Bytes {
			text = append(text, c.Name)
			continue
		}
		kept = append(kept, c)
	}
	return kept, text
}

// kernelImages are the names the kernel, the HAL and the kernel-mode
// DLLs the boot loader loads from system32 with them go by: inbox images
// whatever their version resource says (often not mapped in a dump), and
// named even where the loader entry's path is on an absent page.
var kernelImages = map[string]bool{
	"ntoskrnl.exe": true, "ntkrnlpa.exe": true, "ntkrnlmp.exe": true, "ntkrpamp.exe": true,
	"hal.dll": true, "halmacpi.dll": true, "halacpi.dll": true, "halaacpi.dll": true,
	"halapic.dll": true, "halmps.dll": true, "halextintcpsetimer.dll": true, "halextintclpiodma.dll": true,
	"kdcom.dll": true, "kd.dll": true, "kdstub.dll": true, "kdnet.dll": true, "kd_02_8086.dll": true,
	"pshed.dll": true, "bootvid.dll": true, "ci.dll": true,
	"mcupdate_genuineintel.dll": true, "mcupdate_authenticamd.dll": true,
}

// inboxImage reports a loaded image that Windows itself ships, by where
// and under what name the loader loaded it: the kernel and HAL names, and
// images loaded straight from \SystemRoot\system32 (the kernel, HAL,
// kdcom.dll, ci.dll...). Drivers in system32\drivers are not judged by
// path: third-party drivers are installed there too.
func inboxImage(path, name string) bool {
	if kernelImages[strings.ToLower(name)] {
		return true
	}
	p := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(path, "dump:"), "/", `\`))
	i := strings.LastIndexByte(p, '\\')
	if i < 0 {
		return false
	}
	if kernelImages[p[i+1:]] {
		return true
	}
	switch p[:i] {
	case `\systemroot\system32`, `\windows\system32`, `c:\windows\system32`:
		return true
	}
	return false
}

// inDriversDir reports a loader path in system32\drivers or a folder
// under it: where Windows
// keeps its drivers, and where third parties install theirs, so it is a
// hint that needs another.
func inDriversDir(path string) bool {
	p := strings.ToLower(strings.ReplaceAll(strings.TrimPrefix(path, "dump:"), "/", `\`))
	i := strings.LastIndexByte(p, '\\')
	if i < 0 {
		return false
	}
	dir := p[:i] + `\`
	for _, d := range []string{`\systemroot\system32\drivers\`, `\windows\system32\drivers\`, `c:\windows\system32\drivers\`, `system32\drivers\`} {
		if strings.HasPrefix(dir, d) {
			return true // or a folder under it (drivers\wd\WdFilter.sys)
		}
	}
	return false
}
