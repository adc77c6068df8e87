package middleware

import "time"

// leaseClock is the clock an Endpoint measures dedupe leases with: when a
// push's claim was taken, how long a queued push waited, when its claim
// can have ended and how long to wait before claiming it anew. Hook
// deadlines do not use it. An Endpoint's is nil, for the real clock;
// tests set one they move by hand, so that which way a lease decision
// goes does not depend on how busy the machine is.
type leaseClock interface {
	Now() time.Time
	Sleep(d time.Duration)
}

// leaseNow is the time on the lease clock.
func (e *Endpoint) leaseNow() time.Time {
	if e.leases != nil {
		return e.leases.Now()
	}
	return time.Now()
}

// leaseSleep waits d on the lease clock.
func (e *Endpoint) leaseSleep(d time.Duration) {
	if e.leases != nil {
		e.leases.Sleep(d)
		return
	}
	time.Sleep(d)
}
