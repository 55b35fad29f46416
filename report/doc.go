// Package report turns a dump's pool accounting and the drivers behind its
// leading tags into a culprit report: one model (Report), a verdict in
// plain sentences, and renderers for the terminal, JSON, Markdown, CSV and
// a self-contained HTML page.
package report
