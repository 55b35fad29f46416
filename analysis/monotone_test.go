package analysis

import (
	"testing"

	"github.com/poolblame/poolblame/pool"
)

// TestConfidenceNeverRisesWhenDataIsRemoved: starting from a result that
// earns high, take pool data away check by check (each check passed,
// unknown for missing data, or failed for contradictory data) in every
// combination: the confidence of a result is never above that of any
// result with less taken away.
func TestConfidenceNeverRisesWhenDataIsRemoved(t *testing.T) {
	names := []string{pool.CheckCPUCount, pool.CheckKernBase, pool.CheckPerCPUTables, pool.CheckTableComplete, pool.CheckTablePages, pool.CheckNonPagedMax}
	// state per check: 0 passed, 1 unknown (data missing), 2 failed.
	n := 1
	for range names {
		n *= 3
	}
	states := func(code int) []int {
		s := make([]int, len(names))
		for i := range s {
			s[i] = code % 3
			code /= 3
		}
		return s
	}
	conf := make([]Confidence, n)
	for code := 0; code < n; code++ {
		r := result(85, usage("ISil", 32, callSite("isil.sys", OwnerThirdParty)))
		for i, st := range states(code) {
			r.Pool.Checks = append(r.Pool.Checks, pool.Check{Name: names[i], Status: []pool.CheckStatus{pool.CheckPassed, pool.CheckUnknown, pool.CheckFailed}[st]})
		}
		v, _ := decide(r)
		conf[code] = v.Confidence
	}
	if conf[0] != High {
		t.Fatalf("all checks passed: %v, want high", conf[0])
	}
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			sa, sb := states(a), states(b)
			more := true // b takes away at least what a does, check by check
			for i := range sa {
				more = more && sb[i] >= sa[i]
			}
			if more && conf[b] > conf[a] {
				t.Errorf("checks %v give %v, above %v for %v", sb, conf[b], conf[a], sa)
			}
		}
	}
}
