//go:build windows

package live

import (
	"errors"
	"testing"

	"golang.org/x/sys/windows"
)

// On Windows the kernel answers with every tag it tracks; Wine has no
// such counters and says so, which is then the one thing checked.
func TestQuery(t *testing.T) {
	tags, err := Query(Kernel{})
	if errors.Is(err, windows.STATUS_INVALID_INFO_CLASS) || errors.Is(err, windows.STATUS_NOT_IMPLEMENTED) {
		t.Skipf("no SystemPoolTagInformation here (Wine): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	var nonpaged, paged uint64
	for _, tc := range tags {
		nonpaged += tc.NonPagedUsed
		paged += tc.PagedUsed
	}
	if len(tags) < 10 || nonpaged == 0 || paged == 0 {
		t.Errorf("%d tags, %d nonpaged and %d paged bytes: not a running kernel's counters", len(tags), nonpaged, paged)
	}
}
