package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/poolblame/poolblame/dumpfile"
	"github.com/poolblame/poolblame/report"
	"github.com/poolblame/poolblame/units"
)

// dumpInfo is what `poolblame info` says about a dump; its JSON form is
// the --json output.
type dumpInfo struct {
	File            string            `json:"file"`
	Size            int64             `json:"size"`
	Release         string            `json:"release"`
	Build           uint32            `json:"build"`
	Arch            string            `json:"arch"`
	HeaderWidth     int               `json:"header_bits"`
	DumpType        uint32            `json:"dump_type"`
	DumpTypeName    string            `json:"dump_type_name"`
	Container       string            `json:"container,omitempty"`
	CPUs            uint32            `json:"cpus"`
	PresentPages    uint64            `json:"present_pages"`
	DescribedPages  uint64            `json:"described_pages"`
	BugCheck        uint32            `json:"bugcheck"`
	BugCheckName    string            `json:"bugcheck_name,omitempty"`
	Capture         string            `json:"capture,omitempty"`
	BugCheckParams  []string          `json:"bugcheck_params"`
	SystemTime      string            `json:"system_time,omitempty"`
	UptimeSeconds   float64           `json:"uptime_seconds"`
	DTB             string            `json:"dtb"`
	KernBase        string            `json:"kernbase,omitempty"`
	KDBGAddress     string            `json:"kdbg_address,omitempty"`
	KDBGSource      string            `json:"kdbg_source,omitempty"`
	KDBGEncoded     bool              `json:"kdbg_encoded"`
	KDBGError       string            `json:"kdbg_error,omitempty"`
	KDBGFields      map[string]string `json:"kdbg_fields,omitempty"` // raw values: most are addresses of kernel variables
	ModuleCount     int               `json:"module_count"`
	Modules         []string          `json:"modules,omitempty"`
	ModuleError     string            `json:"module_error,omitempty"`
	Comment         string            `json:"comment,omitempty"`
	PoolDataPresent bool              `json:"pool_data_present"`
	Warnings        []string          `json:"warnings"`
}

func runInfo(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("info", "[--json] DUMP", stderr)
	asJSON := fs.Bool("json", false, "write JSON")
	allModules := fs.Bool("modules", false, "list every loaded module")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return exitError
	}
	f, closeDump, err := openDump(fs.Arg(0))
	if err != nil {
		return fail(stderr, err)
	}
	defer closeDump()
	in := describe(f)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(in); err != nil {
			return fail(stderr, err)
		}
		return exitOK
	}
	writeInfo(stdout, in, f, *allModules)
	return exitOK
}

func describe(f *dumpfile.File) *dumpInfo {
	in := &dumpInfo{
		File:           f.Name(),
		Size:           f.Size(),
		Release:        dumpfile.WindowsRelease(f.MinorVersion, f.ProductType),
		Build:          f.MinorVersion,
		Arch:           f.Arch().String(),
		HeaderWidth:    32,
		DumpType:       uint32(f.DumpType),
		DumpTypeName:   f.DumpType.String(),
		CPUs:           f.NumberProcessors,
		PresentPages:   f.PresentPages(),
		DescribedPages: f.DescribedPages(),
		BugCheck:       f.BugCheckCode,
		BugCheckName:   dumpfile.BugCheckName(f.BugCheckCode),
		Capture:        f.CaptureTool(),
		UptimeSeconds:  f.SystemUpTime.Seconds(),
		DTB:            fmt.Sprintf("%#x", f.DTB()),
		Comment:        f.Comment,
		Warnings:       append([]string{}, f.Warnings...),
	}
	if f.Is64 {
		in.HeaderWidth = 64
	}
	if f.Bitmap != nil {
		in.Container = f.Bitmap.Signature
	} else if f.RDMP != nil {
		in.Container = "RDMP"
	}
	for _, p := range f.BugCheckParameters {
		in.BugCheckParams = append(in.BugCheckParams, fmt.Sprintf("%#x", p))
	}
	if !f.SystemTime.IsZero() {
		in.SystemTime = f.SystemTime.Format(time.RFC3339)
	}
	if k, err := f.KDBG(); err == nil {
		in.KernBase = fmt.Sprintf("%#x", k.KernBase())
		if k.Addr != 0 {
			in.KDBGAddress = fmt.Sprintf("%#x", k.Addr)
		} else {
			in.KDBGAddress = fmt.Sprintf("physical %#x", k.PAddr)
		}
		in.KDBGSource = k.Source
		in.KDBGEncoded = k.Encoded
		in.KDBGFields = map[string]string{}
		for _, fd := range dumpfile.KDBGFields() {
			if v, ok := k.Field(fd); ok {
				in.KDBGFields[fd.String()] = fmt.Sprintf("%#x", v)
			}
		}
	} else {
		in.KDBGError = err.Error()
		in.Warnings = append(in.Warnings, err.Error())
	}
	mods, err := f.Modules()
	in.ModuleCount = len(mods)
	for _, m := range mods {
		in.Modules = append(in.Modules, m.Name)
	}
	if err != nil {
		in.ModuleError = err.Error()
		in.Warnings = append(in.Warnings, fmt.Sprintf("module list: %v (%d modules read before it)", err, len(mods)))
	}
	in.PoolDataPresent = f.DumpType != dumpfile.TypeTriage && !errors.Is(f.ReadableError(), dumpfile.ErrEncrypted)
	return in
}

func writeInfo(w io.Writer, in *dumpInfo, f *dumpfile.File, allModules bool) {
	p := func(k, format string, a ...any) {
		fmt.Fprintf(w, "%-13s "+format+"\n", append([]any{k + ":"}, a...)...)
	}
	p("Dump", "%s (%s)", in.File, units.Bytes(uint64(in.Size)))
	if _, ok := dumpfile.PlausibleCPUs(in.CPUs); ok {
		p("OS", "%s (build %d), %s, %d CPU%s", in.Release, in.Build, in.Arch, in.CPUs, units.Plural(int(in.CPUs)))
	} else {
		p("OS", "%s (build %d), %s, CPUs unknown (NumberProcessors %d is not 1 to %d)", in.Release, in.Build, in.Arch, in.CPUs, dumpfile.MaxProcessors)
	}
	typ := fmt.Sprintf("%d, %s", in.DumpType, in.DumpTypeName)
	if in.Container != "" {
		typ += " (" + in.Container + ")"
	}
	p("Dump type", "%s, %d-bit header", typ, in.HeaderWidth)
	if in.DumpType == uint32(dumpfile.TypeTriage) {
		p("Physical mem", "none (triage dump)")
	} else {
		p("Physical mem", "%s pages present (%s) of %s described (%s)",
			units.UCount(in.PresentPages), units.Bytes(in.PresentPages*dumpfile.PageSize),
			units.UCount(in.DescribedPages), units.Bytes(in.DescribedPages*dumpfile.PageSize))
	}
	if in.Capture != "" {
		p("Bugcheck", "%s", report.CaptureText(in.Capture))
	} else {
		p("Bugcheck", "%s (%s)", dumpfile.BugCheckString(in.BugCheck), strings.Join(in.BugCheckParams, ", "))
	}
	if in.SystemTime != "" {
		p("System time", "%s", f.SystemTime.Format("2006-01-02 15:04:05 UTC"))
	} else {
		p("System time", "not recorded")
	}
	p("Uptime", "%s", units.Uptime(f.SystemUpTime.Seconds()))
	p("DTB", "%s", in.DTB)
	if in.KernBase != "" {
		p("KernBase", "%s", in.KernBase)
	}
	if in.KDBGSource != "" {
		how := map[string]string{
			"header":        "plain, at the header's KdDebuggerDataBlock",
			"decoded":       "encoded in memory, decoded without symbols",
			"physical scan": "plain copy found by scanning physical memory",
			"triage copy":   "copy in the triage block",
		}[in.KDBGSource]
		p("KDBG", "%s (%s)", in.KDBGAddress, how)
	} else {
		p("KDBG", "not found")
	}
	names := in.Modules
	if !allModules && len(names) > 6 {
		names = append(append([]string{}, names[:6]...), "...")
	}
	p("Modules", "%d (%s)", in.ModuleCount, strings.Join(names, ", "))
	if in.Comment != "" {
		p("Comment", "%s", in.Comment)
	}
	if !in.PoolDataPresent {
		p("Pool data", "NONE: this dump carries no pool memory")
	}
	if len(in.Warnings) > 0 {
		fmt.Fprintln(w, "Warnings:")
		for _, s := range in.Warnings {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	}
}
