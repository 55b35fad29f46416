package main

import (
	"strings"
	"testing"
)

func TestClassify(t *testing.T) {
	const gap = `    testing.go:1464: TempDir RemoveAll cleanup: unlinkat C:\\users\\x\\a.dmp: Invalid function.\n`
	ev := func(action, test, output string) string {
		output = strings.ReplaceAll(output, "\n", `\n`)
		return `{"Action":"` + action + `","Test":"` + test + `","Output":"` + output + `"}` + "\n"
	}
	stream := strings.Join([]string{
		ev("run", "TestPass", ""), ev("output", "TestPass", "=== RUN   TestPass\n"), ev("pass", "TestPass", ""),
		ev("skip", "TestSkip", ""),
		// Only the cleanup failed: a Wine gap, and so is its parent.
		ev("output", "TestParent/a", gap), ev("fail", "TestParent/a", ""),
		ev("pass", "TestParent/b", ""),
		ev("output", "TestParent", "--- FAIL: TestParent (0.01s)\n"), ev("fail", "TestParent", ""),
		// A real failure beside the cleanup one is a failure.
		ev("output", "TestReal", "    x_test.go:10: got 3, want 4\n"), ev("output", "TestReal", gap), ev("fail", "TestReal", ""),
		// A parent with one gap child and one real failure is a failure.
		ev("output", "TestMixed/gap", gap), ev("fail", "TestMixed/gap", ""),
		ev("output", "TestMixed/real", "    boom\n"), ev("fail", "TestMixed/real", ""),
		ev("fail", "TestMixed", ""),
		// A failure with no output at all is not excused.
		ev("fail", "TestSilent", ""),
		ev("fail", "", ""),
	}, "")
	res := classify(strings.NewReader(stream))
	want := tally{Pass: 2, Skip: 1, Fail: 4, Gap: 3}
	if res.tally != want {
		t.Errorf("tally %+v, want %+v", res.tally, want)
	}
	got := strings.Join(res.failures, "\n")
	for _, w := range []string{"TestReal: x_test.go:10: got 3, want 4", "TestMixed/real: boom", "TestMixed: ", "TestSilent: "} {
		if !strings.Contains(got, w) {
			t.Errorf("failures lack %q:\n%s", w, got)
		}
	}
}
