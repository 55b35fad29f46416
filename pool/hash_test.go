package pool_test

import (
	"testing"

	"github.com/poolblame/poolblame/pool"
)

// The reader's hash functions against values worked out by hand (see
// pooltest's hash_test.go for the working).
func TestHashKnownValues(t *testing.T) {
	for _, k := range []struct {
		key      uint32
		wrk, mul uint32
	}{
		{0x6C695349, 58949522, 0x3C7CB506}, // 'ISil'
		{0x6C66764F, 55341195, 0x770AEA5E}, // 'Ovfl'
		{0x20206D4D, 54976308, 0xEF7E064C}, // 'Mm  '
		{0, 0, 0},
		{0xFFFFFFFF, 132849275, 0xFFFFFFFF},
	} {
		if got := pool.HashWRK(k.key); got != k.wrk {
			t.Errorf("HashWRK(%#x) = %d, want %d", k.key, got, k.wrk)
		}
		if got := pool.HashMul(k.key); got != k.mul {
			t.Errorf("HashMul(%#x) = %#x, want %#x", k.key, got, k.mul)
		}
	}
}
