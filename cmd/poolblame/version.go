package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// version is stamped by scripts/release.sh (-ldflags "-X main.version=v1.2.3").
// Unstamped, the module version in the build info is used: the tag for
// `go install ...@v1.2.3`, "(devel)" for a build from a checkout.
var version string

// commit is stamped by scripts/release.sh too, for builds where Go records
// no VCS information (-buildvcs=false, a tree without .git).
var commit string

// buildVersion is what `poolblame version` says.
type buildVersion struct {
	Version  string
	Commit   string // vcs.revision, when built from a checkout
	Time     string // vcs.time
	Modified bool   // the checkout had uncommitted changes
	Go       string
	Platform string
}

func readVersion(stamped, stampedCommit string, bi *debug.BuildInfo, ok bool) buildVersion {
	v := buildVersion{Version: stamped, Commit: stampedCommit, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if !ok {
		if v.Version == "" {
			v.Version = "unknown"
		}
		return v
	}
	if v.Version == "" {
		v.Version = bi.Main.Version
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	if bi.GoVersion != "" {
		v.Go = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			if v.Commit == "" {
				v.Commit = s.Value
			}
		case "vcs.time":
			v.Time = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is one line: version, (commit, time, modified), Go version and
// platform.
func (v buildVersion) String() string {
	var extra []string
	if v.Commit != "" {
		extra = append(extra, "commit "+v.Commit[:min(12, len(v.Commit))])
	}
	if v.Time != "" {
		extra = append(extra, v.Time)
	}
	if v.Modified {
		extra = append(extra, "modified")
	}
	s := v.Version
	if len(extra) > 0 {
		s += " (" + strings.Join(extra, ", ") + ")"
	}
	return fmt.Sprintf("%s %s %s", s, v.Go, v.Platform)
}

func currentVersion() buildVersion {
	bi, ok := debug.ReadBuildInfo()
	return readVersion(version, commit, bi, ok)
}
