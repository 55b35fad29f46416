package snapshot

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// A Performance Monitor log as typeperf (-f CSV or TSV) and relog (-f
// CSV or TSV) write it: a header record whose first field is "(PDH-CSV
// 4.0)" (relog adds the capturing machine's time zone and its bias in
// minutes: "(PDH-CSV 4.0) (Pacific Standard Time)(480)") and whose other
// fields are counter paths ("\\WEB01\Memory\Pool Nonpaged Bytes"), then
// one record per sample: the local time ("09/02/2005 16:45:00.123") and
// the values, a blank where a counter had none. typeperf's console lines
// ("Exiting, please wait...", "The command completed successfully.") are
// not records and are passed over.

// PerfCounter names a counter a log may hold: the object and counter
// names of its path.
type PerfCounter struct {
	Object, Counter string
}

// PerfCounters are the counters read: those that show a pool leak or the
// process behind it. Others in the log are counted and left out, which
// keeps memory to these.
var PerfCounters = []PerfCounter{
	{"Memory", "Pool Nonpaged Bytes"},
	{"Memory", "Pool Paged Bytes"},
	{"Process", "Private Bytes"},
	{"Process", "Handle Count"},
	{"Process", "Pool Nonpaged Bytes"},
	{"Process", "Pool Paged Bytes"},
}

// CounterLog is the part of a Performance Monitor log this package reads.
type CounterLog struct {
	Source string
	TSV    bool
	// Zone is the time zone the header names ("" when none: typeperf's
	// own output). With it, Times are UTC; without, the local times are
	// taken as UTC and ZoneKnown is false.
	Zone      string
	ZoneKnown bool
	Times     []time.Time
	Counters  []*Counter
	// Skipped counts the log's other counters.
	Skipped int
	Notes   []string
}

// Counter is one counter's samples; a sample the log left blank is NaN.
type Counter struct {
	Path     string // as the log writes it
	Machine  string // "" when the path names none
	Object   string
	Instance string // "" for objects without instances
	Name     string
	Values   []float64
}

// Bytes reports whether the counter counts bytes (else it is a count).
func (c *Counter) Bytes() bool { return strings.HasSuffix(c.Name, "Bytes") }

// Label is the counter's path without the machine: "Process(lsass)\Private Bytes".
func (c *Counter) Label() string {
	if c.Instance != "" {
		return fmt.Sprintf(`%s(%s)\%s`, c.Object, c.Instance, c.Name)
	}
	return c.Object + `\` + c.Name
}

// isPerfmonHeader reports the first record of a PDH CSV or TSV log.
func isPerfmonHeader(t string) bool {
	return strings.HasPrefix(t, `"(PDH-CSV 4.0)`) || strings.HasPrefix(t, `"(PDH-TSV 4.0)`)
}

// pdhHeader reads the first field: the format and the optional zone and bias.
var pdhHeader = regexp.MustCompile(`^\(PDH-(CSV|TSV) 4\.0\)\s*(?:\((.*)\)\s*\((-?\d+)\))?\s*$`)

// counterPath reads "\\MACHINE\Object(Instance)\Counter" or "\Object\Counter".
var counterPath = regexp.MustCompile(`^(?:\\\\([^\\]+))?\\([^\\(]+)(?:\((.*)\))?\\([^\\]+)$`)

// perfTimeLayouts are the sample time layouts PDH writes.
var perfTimeLayouts = []string{"01/02/2006 15:04:05.000", "01/02/2006 15:04:05", "1/2/2006 15:04:05.000", "1/2/2006 15:04:05"}

// maxPerfCounters bounds the counters kept from one log: a log with
// Process(*) over thousands of short-lived processes is cut, with a note.
const maxPerfCounters = 4096

// ParsePerfmon reads a typeperf or relog CSV/TSV log.
func ParsePerfmon(r io.Reader, name string) (*CounterLog, error) {
	p := &perfmonParser{lr: newLineReader(r, name), log: &CounterLog{Source: name}}
	sawHeader := false
	for {
		line, ok := p.lr.next()
		if !ok {
			break
		}
		t := strings.TrimSpace(strings.TrimPrefix(line, "\uFEFF"))
		if !strings.HasPrefix(t, `"`) {
			continue // blank, or typeperf's console chatter
		}
		if !sawHeader {
			if !isPerfmonHeader(t) {
				return nil, p.lr.errorf(`not a Performance Monitor log: the first record is not "(PDH-CSV 4.0)" or "(PDH-TSV 4.0)"`)
			}
			p.log.TSV = strings.HasPrefix(t, `"(PDH-TSV`)
		}
		rec, err := splitRecord(t, p.log.TSV)
		if err != nil {
			return nil, p.lr.errorf("%v", err)
		}
		if !sawHeader {
			sawHeader = true
			err = p.header(rec)
		} else {
			err = p.sample(rec)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := p.lr.err(); err != nil {
		return nil, err
	}
	if !sawHeader {
		return nil, &FormatError{File: name, Msg: `no "(PDH-CSV 4.0)" or "(PDH-TSV 4.0)" header record`}
	}
	p.addNotes()
	return p.log, nil
}

// perfmonParser is the state of one log being read: which fields hold
// the counters kept, and the time zone bias of its sample times.
type perfmonParser struct {
	lr   *lineReader
	log  *CounterLog
	keep []int // field index of each kept counter
	bias time.Duration
	cut  int // counters past maxPerfCounters
}

// header reads the first record: the format with the optional time zone,
// then one counter path per field, keeping the counters poolblame reads.
func (p *perfmonParser) header(rec []string) error {
	m := pdhHeader.FindStringSubmatch(rec[0])
	if m == nil {
		return p.lr.fieldError("PDH header", rec[0])
	}
	if m[2] != "" {
		mins, err := strconv.Atoi(m[3])
		if err != nil || mins < -24*60 || mins > 24*60 {
			return p.lr.fieldError("time zone bias", m[3])
		}
		p.log.Zone, p.log.ZoneKnown, p.bias = m[2], true, time.Duration(mins)*time.Minute
	}
	for i, path := range rec[1:] {
		c, ok := parseCounterPath(path)
		if !ok {
			return p.lr.fieldError("counter path", path)
		}
		if !wanted(c) {
			p.log.Skipped++
			continue
		}
		if len(p.log.Counters) >= maxPerfCounters {
			p.cut++
			continue
		}
		p.log.Counters = append(p.log.Counters, c)
		p.keep = append(p.keep, i+1)
	}
	return nil
}

// sample reads one record after the header: its time, then a value (or
// NaN for an empty field) for each counter kept.
func (p *perfmonParser) sample(rec []string) error {
	if fields := len(p.keep) + p.log.Skipped + p.cut + 1; len(rec) != fields {
		return p.lr.errorf("%d fields, the header has %d", len(rec), fields)
	}
	when, ok := parsePerfTime(rec[0])
	if !ok {
		return p.lr.fieldError("sample time", rec[0])
	}
	// UTC = local + bias, as Windows counts it.
	p.log.Times = append(p.log.Times, when.Add(p.bias))
	for k, i := range p.keep {
		v := math.NaN()
		if s := strings.TrimSpace(rec[i]); s != "" {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return p.lr.fieldError(p.log.Counters[k].Path, rec[i])
			}
			v = f
		}
		p.log.Counters[k].Values = append(p.log.Counters[k].Values, v)
	}
	return nil
}

// addNotes says what the log leaves unsure or what was not read.
func (p *perfmonParser) addNotes() {
	log := p.log
	if !log.ZoneKnown {
		log.Notes = append(log.Notes, "the log names no time zone (typeperf writes local time without one): its times are taken as UTC")
	}
	if log.Skipped > 0 {
		log.Notes = append(log.Notes, fmt.Sprintf("%d other counters in the log were not read (only pool, private bytes and handle counters are)", log.Skipped))
	}
	if p.cut > 0 {
		log.Notes = append(log.Notes, fmt.Sprintf("%d more counters were left out past the first %d", p.cut, maxPerfCounters))
	}
	if len(log.Times) == 0 {
		log.Notes = append(log.Notes, "no samples")
	}
}

// splitRecord splits one quoted CSV or TSV record.
func splitRecord(t string, tsv bool) ([]string, error) {
	cr := csv.NewReader(strings.NewReader(t))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	if tsv {
		cr.Comma = '\t'
	}
	rec, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("unreadable record: %w", err)
	}
	return rec, nil
}

func parseCounterPath(p string) (*Counter, bool) {
	m := counterPath.FindStringSubmatch(p)
	if m == nil {
		return nil, false
	}
	return &Counter{Path: p, Machine: m[1], Object: m[2], Instance: m[3], Name: m[4]}, true
}

func wanted(c *Counter) bool {
	if strings.EqualFold(c.Object, "Process") && (c.Instance == "_Total" || c.Instance == "Idle") {
		return false // sums and the idle process say nothing about one process
	}
	for _, w := range PerfCounters {
		if strings.EqualFold(c.Object, w.Object) && strings.EqualFold(c.Name, w.Counter) {
			return true
		}
	}
	return false
}

func parsePerfTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range perfTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// CounterTrend is a counter's course over the capture.
type CounterTrend struct {
	Samples     int // samples with a value
	First, Last float64
	FirstTime   time.Time
	LastTime    time.Time
	Min, Max    float64
	// PerDay is the least-squares slope of value against time, per day;
	// 0 when the samples span no time.
	PerDay float64
	// OnlyGrows is set when no sample is below the one before it and the
	// last is above the first.
	OnlyGrows bool
}

// Trend computes the counter's course over times (the log's Times).
func (c *Counter) Trend(times []time.Time) CounterTrend {
	var tr CounterTrend
	var sx, sy, sxx, sxy float64
	var t0 time.Time
	prev := math.NaN()
	nonDecreasing := true
	for i, v := range c.Values {
		if math.IsNaN(v) || i >= len(times) {
			continue
		}
		if tr.Samples == 0 {
			tr.First, tr.FirstTime, tr.Min, tr.Max, t0 = v, times[i], v, v, times[i]
		}
		tr.Samples++
		tr.Last, tr.LastTime = v, times[i]
		tr.Min, tr.Max = math.Min(tr.Min, v), math.Max(tr.Max, v)
		if !math.IsNaN(prev) && v < prev {
			nonDecreasing = false
		}
		prev = v
		x := times[i].Sub(t0).Hours() / 24
		sx, sy, sxx, sxy = sx+x, sy+v, sxx+x*x, sxy+x*v
	}
	n := float64(tr.Samples)
	if d := n*sxx - sx*sx; tr.Samples > 1 && d > 0 {
		tr.PerDay = (n*sxy - sx*sy) / d
	}
	tr.OnlyGrows = tr.Samples > 1 && nonDecreasing && tr.Last > tr.First
	return tr
}
