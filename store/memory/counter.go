package memory

import (
	"math"
	"sync/atomic"
)

// atomic64 is a grant counter that never goes below zero or wraps above
// math.MaxInt64.
type atomic64 struct{ atomic.Int64 }

// decrementAboveZero takes one if the count is positive and reports
// whether it did.
func (c *atomic64) decrementAboveZero() bool {
	for {
		n := c.Load()
		if n <= 0 {
			return false
		}
		if c.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

// incrementBelowMax adds one unless the count is already math.MaxInt64.
func (c *atomic64) incrementBelowMax() {
	for {
		n := c.Load()
		if n == math.MaxInt64 || c.CompareAndSwap(n, n+1) {
			return
		}
	}
}
