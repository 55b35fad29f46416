// Package report puts an analysis (package analysis) into words and
// forms: one model (Report, the JSON schema's shape), the verdict's
// findings as plain sentences, and renderers for the terminal, JSON,
// Markdown, CSV and a self-contained HTML page. It decides nothing:
// display choices (Display) pick rows, and never change the verdict.
package report
