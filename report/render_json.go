package report

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
)

// renderJSON writes the Report as indented JSON. Lists are always arrays
// (never null) and the schema version is the one this package writes,
// so a consumer validating against report/schema/report.schema.json
// never trips over an empty report.
func renderJSON(w io.Writer, r *Report) error {
	c := jsonReady(r)
	if err := checkFloats(reflect.ValueOf(c).Elem(), "report"); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// jsonReady copies r with nil slices replaced by empty ones and a blank
// confidence written as "none", as every other form shows it.
func jsonReady(r *Report) *Report {
	c := *r
	c.SchemaVersion = SchemaVersion
	c.Dump.BugCheckParams = nonNil(c.Dump.BugCheckParams)
	c.LeadingNonPaged = readyRows(c.LeadingNonPaged)
	c.LeadingPaged = readyRows(c.LeadingPaged)
	c.Verdict.Sentences = nonNil(c.Verdict.Sentences)

	cul := make([]Culprit, len(c.Verdict.Culprits))
	for i, cu := range c.Verdict.Culprits {
		cu.Tags = nonNil(cu.Tags)
		cul[i] = cu
	}
	c.Verdict.Culprits = cul
	c.Sources.DriverFolders = nonNil(c.Sources.DriverFolders)
	c.Warnings = nonNil(c.Warnings)
	if c.Pool != nil {
		p := *c.Pool
		p.Checks = nonNil(p.Checks)
		c.Pool = &p
	}
	return &c
}

func readyRows(rows []TagRow) []TagRow {
	out := make([]TagRow, len(rows))
	for i, row := range rows {
		row.Candidates = nonNil(row.Candidates)
		out[i] = row
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// checkFloats finds a NaN or infinite number before encoding/json does,
// so the error names the field instead of only the value.
func checkFloats(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%s is %v, which JSON cannot hold", path, f)
		}
	case reflect.Pointer:
		if !v.IsNil() {
			return checkFloats(v.Elem(), path)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < v.NumField(); i++ {
			if !t.Field(i).IsExported() {
				continue
			}
			if err := checkFloats(v.Field(i), path+"."+t.Field(i).Name); err != nil {
				return err
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if err := checkFloats(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}
