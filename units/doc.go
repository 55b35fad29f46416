// Package units formats the numbers every output states: byte counts and
// sizes, rates per day, counts, shares and durations. Each quantity has one
// form, so the text report, the HTML report, the batch summary and the
// subcommands say the same number the same way.
//
// Sizes are in binary units (KiB, MiB, GiB) with one decimal: that is how
// Windows states its pool limits ("128 MB of nonpaged pool" is 128 MiB).
// Counts carry thousands separators, as !poolused and poolmon users read
// them.
package units
