package sender

import (
	"sync"
	"time"
)

// forceLimiter allows a stable-token force refresh at most once per gap and
// cap times per day, counted in Beijing time as WeChat does.
type forceLimiter struct {
	cap int
	gap time.Duration

	mu    sync.Mutex
	last  time.Time
	day   int64
	count int
}

func (l *forceLimiter) allow(now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	day := now.Add(8*time.Hour).Unix() / 86400
	if day != l.day {
		l.day, l.count = day, 0
	}
	if l.count >= l.cap || (!l.last.IsZero() && now.Sub(l.last) < l.gap) {
		return false
	}
	l.last = now
	l.count++
	return true
}
