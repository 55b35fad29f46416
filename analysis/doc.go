// Package analysis decides what a dump says about a pool leak: which tags
// lead each pool, which drivers use them and who made those drivers, how
// short each pool was, which checks were run on that evidence and what
// they found, and the verdict with its confidence.
//
// Every decision of poolblame lives here, typed; package report only puts
// a Result into words and forms. Display choices (how many rows to show,
// hiding Microsoft-only tags) are the renderer's and never change a
// Result.
//
// Checks are listed in one table (checks.go). Each check that fails or
// cannot run limits the confidence to its Limit; nothing raises it above
// what the owner's evidence supports (confidence.go).
package analysis
