package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"
)

// Timings of the first round of the expiry tests (see expiring). shortTTL
// must be over by the time settle has passed; longTTL must not be.
const (
	shortTTL = 150 * time.Millisecond
	settle   = 350 * time.Millisecond
	longTTL  = 5 * time.Second
	// hugeTTL reaches past the year 2262, where time.Time.UnixNano
	// overflows; a store must still keep such a record.
	hugeTTL = 250 * 365 * 24 * time.Hour
	// slack allows for millisecond rounding when a store reports ExpiresAt.
	slack = 10 * time.Millisecond
)

// unique returns name followed by random hex, so that subtests sharing one
// backing database never see each other's records.
func unique(name string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:])
}

// testContext returns a context that bounds every call of one subtest.
func testContext(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// cancelledContext returns a context that is already cancelled.
func cancelledContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// wantErrIs fails the test unless errors.Is(err, target).
func wantErrIs(t testing.TB, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: err = %v, want errors.Is(err, %v)", what, err, target)
	}
}

// noErr fails the test on a non-nil error.
func noErr(t testing.TB, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantExpiry fails the test unless got lies in [before+ttl, after+ttl],
// widened by slack for stores that round to the millisecond.
func wantExpiry(t testing.TB, what string, got, before, after time.Time, ttl time.Duration) {
	t.Helper()
	lo := before.Add(ttl - slack)
	hi := after.Add(ttl + slack)
	if got.Before(lo) || got.After(hi) {
		t.Fatalf("%s: ExpiresAt = %v, want between %v and %v", what, got, lo, hi)
	}
}
