package report

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"

	"github.com/poolblame/poolblame/units"
)

// csvHeader names the columns of the CSV form: one row per leading tag
// and candidate driver, so a tag with two candidates takes two rows and
// a tag with none takes one with the driver columns empty.
var csvHeader = []string{
	"tag", "pool", "outstanding", "bytes", "share", "avg_size", "growth_per_day", "description",
	"driver", "evidence", "count", "version", "company", "signer", "microsoft", "loaded",
}

func renderCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	for _, rows := range [][]TagRow{r.LeadingNonPaged, r.LeadingPaged} {
		for _, row := range rows {
			tag := []string{
				csvText(row.Tag), row.Pool,
				strconv.FormatInt(row.Outstanding, 10),
				strconv.FormatUint(row.Bytes, 10),
				csvFloat(row.Share, 2),
				csvFloat(row.AvgSize, 1),
				csvGrowth(row.GrowthPerDay, row.Bytes, r.Dump.GrowthSeconds),
				csvText(row.Description),
			}
			if len(row.Candidates) == 0 {
				if err := cw.Write(append(tag, make([]string, len(csvHeader)-len(tag))...)); err != nil {
					return err
				}
				continue
			}
			for _, c := range row.Candidates {
				rec := append(append([]string(nil), tag...),
					csvText(c.Name), csvText(c.Evidence), strconv.Itoa(c.Count), csvText(c.Version),
					csvText(c.Company), csvText(c.Signer), csvBool(c.Microsoft, !fromPooltagOnly(c)),
					csvBool(c.Loaded, !fromPooltagOnly(c)))
				if err := cw.Write(rec); err != nil {
					return err
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvFloat writes a number a spreadsheet reads; unknown stays empty
// rather than becoming a misleading zero.
func csvFloat(f float64, prec int) string {
	if !units.Known(f) {
		return ""
	}
	return strconv.FormatFloat(f, 'f', prec, 64)
}

func csvGrowth(g float64, amount uint64, span float64) string {
	if !growthKnown(g, amount, span) {
		return ""
	}
	return csvFloat(g, 0)
}

// csvBool is "true"/"false", or empty when the fact was not examined
// (a name from pooltag.txt has no file to say who made it).
func csvBool(b, examined bool) string {
	if !examined {
		return ""
	}
	return strconv.FormatBool(b)
}

// CSVCell is the one rule for every CSV the tool writes (reports,
// poolused --csv, poolfind --csv): text from the dump, a driver or a
// snapshot is kept from being taken as a formula by a spreadsheet.
func CSVCell(s string) string { return csvText(s) }

// csvText keeps text from the dump or a driver's version resource from
// being taken as a formula when the file is opened in a spreadsheet:
// a leading = + - @ or tab gets a quote mark, as OWASP recommends.
func csvText(s string) string {
	s = oneLineKeep(s)
	if s != "" && strings.ContainsRune("=+-@\t", rune(s[0])) {
		return "'" + s
	}
	return s
}
