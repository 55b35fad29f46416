package report

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/poolblame/poolblame/pe"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

const schemaPath = "schema/report.schema.json"

func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// compileSchema compiles report/schema/report.schema.json with format
// assertions on, so date-time strings are checked too.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(schemaPath, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(schemaPath)
	if err != nil {
		t.Fatalf("%s does not compile: %v", schemaPath, err)
	}
	return s
}

func validate(s *jsonschema.Schema, data []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return err
	}
	return s.Validate(inst)
}

func TestJSONValidatesAgainstSchema(t *testing.T) {
	s := compileSchema(t)
	for _, fx := range fixtures {
		if err := validate(s, render(t, fx.r(), JSON, RenderOptions{})); err != nil {
			t.Errorf("%s: %v", fx.name, err)
		}
	}
	// A report built with nil lists still validates: the renderer writes [].
	if err := validate(s, render(t, &Report{PoolError: "x"}, JSON, RenderOptions{})); err != nil {
		t.Errorf("empty report: %v", err)
	}
}

func TestSchemaRejectsBrokenReports(t *testing.T) {
	s := compileSchema(t)
	good := render(t, classicReport(), JSON, RenderOptions{})
	tests := []struct {
		name   string
		mutate func(m map[string]any)
	}{
		{"wrong schema_version", func(m map[string]any) { m["schema_version"] = "0.9" }},
		{"no verdict", func(m map[string]any) { delete(m, "verdict") }},
		{"neither pool nor pool_error", func(m map[string]any) { delete(m, "pool") }},
		{"bytes as a string", func(m map[string]any) { jsRow(m, 0)["bytes"] = "36678632" }},
		{"negative bytes", func(m map[string]any) { jsRow(m, 0)["bytes"] = -1 }},
		{"unknown pool name", func(m map[string]any) { jsRow(m, 0)["pool"] = "session" }},
		{"unknown confidence", func(m map[string]any) { m["verdict"].(map[string]any)["confidence"] = "certain" }},
		{"unknown evidence kind", func(m map[string]any) { jsCand(m)["evidence"] = "hunch" }},
		{"candidate without signature", func(m map[string]any) { delete(jsCand(m), "signature") }},
		{"bad sha256", func(m map[string]any) { jsCand(m)["sha256"] = "not-a-hash" }},
		{"percent below -1", func(m map[string]any) { jsNonPaged(m)["percent"] = -5 }},
		{"bugcheck above uint32", func(m map[string]any) { m["dump"].(map[string]any)["bugcheck"] = 1 << 33 }},
		{"system_time not a date", func(m map[string]any) { m["dump"].(map[string]any)["system_time"] = "yesterday" }},
		{"null tag list", func(m map[string]any) { m["leading_paged"] = nil }},
	}
	for _, tt := range tests {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		tt.mutate(m)
		bad, _ := json.Marshal(m)
		if err := validate(s, bad); err == nil {
			t.Errorf("%s: the schema accepted a broken report", tt.name)
		}
	}
}

func jsRow(m map[string]any, i int) map[string]any {
	return m["leading_nonpaged"].([]any)[i].(map[string]any)
}

func jsCand(m map[string]any) map[string]any {
	return jsRow(m, 0)["candidates"].([]any)[0].(map[string]any)
}

func jsNonPaged(m map[string]any) map[string]any {
	return m["pool"].(map[string]any)["nonpaged"].(map[string]any)
}

// TestSchemaCoversModel checks that the schema describes every JSON
// field of the model and requires exactly the fields without omitempty,
// so a field added to model.go cannot go undocumented.
func TestSchemaCoversModel(t *testing.T) {
	raw, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var schema map[string]any
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	defs := schema["$defs"].(map[string]any)
	seen := map[reflect.Type]bool{}
	var check func(typ reflect.Type, obj map[string]any, where string)
	check = func(typ reflect.Type, obj map[string]any, where string) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		props, _ := obj["properties"].(map[string]any)
		var required []string
		for _, r := range obj["required"].([]any) {
			required = append(required, r.(string))
		}
		var wantRequired []string
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" || name == "" {
				continue
			}
			if !strings.Contains(opts, "omitempty") {
				wantRequired = append(wantRequired, name)
			}
			p, ok := props[name].(map[string]any)
			if !ok {
				t.Errorf("%s: field %s (%s) is not in the schema", where, name, f.Name)
				continue
			}
			if _, ok := p["description"]; !ok {
				if ref, ok := p["$ref"].(string); !ok || !strings.HasPrefix(ref, "#/$defs/") {
					t.Errorf("%s.%s has no description", where, name)
				}
			}
			ft := f.Type
			for ft.Kind() == reflect.Pointer || ft.Kind() == reflect.Slice {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft.PkgPath() == typ.PkgPath() {
				def, ok := defs[ft.Name()].(map[string]any)
				if !ok {
					t.Errorf("schema has no $defs/%s for %s.%s", ft.Name(), where, name)
					continue
				}
				check(ft, def, ft.Name())
			}
		}
		for name := range props {
			if !slices.ContainsFunc(fieldNames(typ), func(s string) bool { return s == name }) {
				t.Errorf("%s: schema property %s is not in the model", where, name)
			}
		}
		slices.Sort(required)
		slices.Sort(wantRequired)
		if !slices.Equal(required, wantRequired) {
			t.Errorf("%s: schema requires %v, the model always writes %v", where, required, wantRequired)
		}
	}
	check(reflect.TypeOf(Report{}), schema, "Report")
	if len(seen) < 10 {
		t.Errorf("checked %d types, want every model type", len(seen))
	}
}

func fieldNames(typ reflect.Type) []string {
	var out []string
	for i := 0; i < typ.NumField(); i++ {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// TestPDBIdentityLines: a candidate's PDB record and an owner decided by
// weak hints together are shown in every form, and the JSON stays valid.
func TestPDBIdentityLines(t *testing.T) {
	r := classicReport()
	c := &r.LeadingNonPaged[0].Candidates[0]
	c.PDB = &pe.PDB{Path: `d:\src\isil\objfre_wnet_x86\i386\isil.pdb`, GUID: "{12345678-1234-5678-9ABC-DEF001020304}", Age: 3}
	c.OwnerHint = "a test hint"
	for _, f := range []Format{Text, Markdown, HTML, JSON} {
		out := string(render(t, r, f, RenderOptions{}))
		for _, want := range []string{`isil.pdb`, "{12345678-1234-5678-9ABC-DEF001020304}", "a test hint"} {
			if !strings.Contains(out, want) && !strings.Contains(out, strings.ReplaceAll(want, `\`, `\\`)) {
				t.Errorf("format %v lacks %q", f, want)
			}
		}
		if f == JSON {
			if err := validate(compileSchema(t), []byte(out)); err != nil {
				t.Errorf("JSON with a PDB record: %v", err)
			}
		}
	}
}
