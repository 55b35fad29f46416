package report

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/dumpfile"
)

// buildSamples pairs the committed sample dumps with the driver folders
// made for them. A sample not listed here is built without drivers.
var buildSamples = map[string][]string{
	"win2003-x86-isil.dmp": {"../testdata/drivers-2003"},
	"win11-x64-ctfl.dmp":   {"../testdata/drivers-win11"},
}

// TestBuildGolden runs Build on every committed sample dump and checks
// each rendered form against its golden file, and the JSON against the
// schema: the renderers on what the tool really produces.
func TestBuildGolden(t *testing.T) {
	dumps, err := filepath.Glob("../testdata/*.dmp")
	if err != nil {
		t.Fatal(err)
	}
	if len(dumps) == 0 {
		t.Fatal("no sample dumps in ../testdata")
	}
	schema := compileSchema(t)
	for _, path := range dumps {
		// The golden files name the dump as ../testdata/NAME.dmp on every
		// platform; Windows takes forward slashes too.
		path := filepath.ToSlash(path)
		name := strings.TrimSuffix(filepath.Base(path), ".dmp")
		t.Run(name, func(t *testing.T) {
			f, err := dumpfile.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := Build(context.Background(), f, Options{DriverDirs: buildSamples[filepath.Base(path)]})
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			if !r.Generated.IsZero() {
				t.Fatalf("Generated = %v, want zero for a stable golden file", r.Generated)
			}
			for _, format := range allFormats {
				out := render(t, r, format, RenderOptions{})
				checkGolden(t, "build-"+name+"."+goldenExt[format], out)
				if format == JSON {
					if err := validate(schema, out); err != nil {
						t.Errorf("Build's report does not match the schema: %v", err)
					}
				}
			}
			colored := render(t, r, Text, RenderOptions{Color: true})
			if !bytes.Contains(colored, []byte("\x1b[")) {
				t.Error("colored text has no ANSI escape")
			}
		})
	}
}
