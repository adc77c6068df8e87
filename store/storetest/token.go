package storetest

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

// RunTokenStore runs the conformance suite for store.TokenStore. newStore
// is called once per subtest and must return a store that is ready to use.
func RunTokenStore(t *testing.T, newStore func(t *testing.T) store.TokenStore) {
	t.Helper()
	tests := []struct {
		name string
		run  func(t *testing.T, s store.TokenStore)
	}{
		{"GetMissing", testTokenGetMissing},
		{"SetGet", testTokenSetGet},
		{"Expiry", expiring(testTokenExpiry)},
		{"Invalidate", testTokenInvalidate},
		{"Lease", testLease},
		{"LeaseStaleRelease", expiring(testLeaseStaleRelease)},
		{"LeaseRace", testLeaseRace},
		{"LeaseLongestTTL", testLeaseLongestTTL},
		{"InvalidArguments", testTokenInvalidArguments},
		{"CancelledContext", testTokenCancelledContext},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newStore(t)) })
	}
}

// hourToken returns a token valid for an hour, with ExpiresAt on a whole
// millisecond so that every store can return it unchanged.
func hourToken(access string) store.Token {
	return store.Token{AccessToken: access, ExpiresAt: time.UnixMilli(time.Now().Add(time.Hour).UnixMilli())}
}

func wantToken(t testing.TB, ctx context.Context, s store.TokenStore, key string, want store.Token) {
	t.Helper()
	got, err := s.GetToken(ctx, key)
	noErr(t, "GetToken", err)
	if got.AccessToken != want.AccessToken || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("GetToken(%s) = %+v, want %+v", key, got, want)
	}
}

func wantNoToken(t testing.TB, ctx context.Context, s store.TokenStore, key string) {
	t.Helper()
	got, err := s.GetToken(ctx, key)
	wantErrIs(t, "GetToken("+key+")", err, store.ErrNotFound)
	if got != (store.Token{}) {
		t.Fatalf("GetToken(%s) failed but returned %+v, want a zero Token", key, got)
	}
}

func testTokenGetMissing(t *testing.T, s store.TokenStore) {
	wantNoToken(t, testContext(t), s, unique("app"))
}

func testTokenSetGet(t *testing.T, s store.TokenStore) {
	ctx, app, other := testContext(t), unique("app"), unique("other")
	first := hourToken("token-1")
	noErr(t, "SetToken", s.SetToken(ctx, app, first))
	wantToken(t, ctx, s, app, first)
	wantNoToken(t, ctx, s, other)
	second := hourToken("token-2")
	second.ExpiresAt = second.ExpiresAt.Add(time.Minute)
	noErr(t, "SetToken", s.SetToken(ctx, app, second))
	wantToken(t, ctx, s, app, second)
	// A token valid past the year 2262 is kept too.
	far := store.Token{AccessToken: "token-3", ExpiresAt: time.UnixMilli(time.Now().Add(hugeTTL).UnixMilli())}
	noErr(t, "SetToken(far future)", s.SetToken(ctx, other, far))
	wantToken(t, ctx, s, other, far)
	// A lease on the same key is a separate thing from the token.
	if _, err := s.AcquireLease(ctx, app, time.Minute); err != nil {
		t.Fatalf("AcquireLease: %v", err)
	}
	wantToken(t, ctx, s, app, second)
}

func testTokenExpiry(t testing.TB, s store.TokenStore, tm *timing) {
	ctx, app, kept := testContext(t), unique("app"), unique("kept")
	short := store.Token{AccessToken: "short", ExpiresAt: time.Now().Add(tm.short)}
	noErr(t, "SetToken", s.SetToken(ctx, app, short))
	long := hourToken("long")
	noErr(t, "SetToken", s.SetToken(ctx, kept, long))
	got, err := s.GetToken(ctx, app)
	noErr(t, "GetToken before expiry", err)
	if got.AccessToken != "short" {
		t.Fatalf("GetToken before expiry = %+v, want AccessToken %q", got, "short")
	}
	tm.wait()
	wantNoToken(t, ctx, s, app)
	wantToken(t, ctx, s, kept, long)
	// A token stored already expired is not returned.
	past := store.Token{AccessToken: "past", ExpiresAt: time.Now().Add(-time.Second)}
	noErr(t, "SetToken(expired)", s.SetToken(ctx, app, past))
	wantNoToken(t, ctx, s, app)
}

func testTokenInvalidate(t *testing.T, s store.TokenStore) {
	ctx, app := testContext(t), unique("app")
	noErr(t, "InvalidateToken(missing)", s.InvalidateToken(ctx, app, "anything"))
	tok := hourToken("current")
	noErr(t, "SetToken", s.SetToken(ctx, app, tok))
	noErr(t, "InvalidateToken(stale)", s.InvalidateToken(ctx, app, "stale"))
	wantToken(t, ctx, s, app, tok)
	noErr(t, "InvalidateToken(prefix)", s.InvalidateToken(ctx, app, "curr"))
	wantToken(t, ctx, s, app, tok)
	noErr(t, "InvalidateToken(current)", s.InvalidateToken(ctx, app, "current"))
	wantNoToken(t, ctx, s, app)
}

func acquire(t testing.TB, ctx context.Context, s store.TokenStore, key string, ttl time.Duration) store.Lease {
	t.Helper()
	l, err := s.AcquireLease(ctx, key, ttl)
	noErr(t, "AcquireLease", err)
	if l.Key != key || l.ID == "" {
		t.Fatalf("AcquireLease(%s) = %+v, want Key %q and a non-empty ID", key, l, key)
	}
	return l
}

func wantHeld(t testing.TB, ctx context.Context, s store.TokenStore, key string) {
	t.Helper()
	l, err := s.AcquireLease(ctx, key, time.Minute)
	wantErrIs(t, "AcquireLease("+key+")", err, store.ErrLeaseHeld)
	if l != (store.Lease{}) {
		t.Fatalf("AcquireLease(%s) failed but returned %+v, want a zero Lease", key, l)
	}
}

func testLease(t *testing.T, s store.TokenStore) {
	ctx, app, other := testContext(t), unique("app"), unique("other")
	first := acquire(t, ctx, s, app, time.Minute)
	wantHeld(t, ctx, s, app)
	acquire(t, ctx, s, other, time.Minute) // keys are independent
	noErr(t, "ReleaseLease", s.ReleaseLease(ctx, first))
	second := acquire(t, ctx, s, app, time.Minute)
	if second.ID == first.ID {
		t.Fatalf("two acquisitions returned the same lease ID %q", first.ID)
	}
	noErr(t, "ReleaseLease(released)", s.ReleaseLease(ctx, first))
	wantHeld(t, ctx, s, app)
}

// testLeaseLongestTTL takes a lease for the longest Duration there is, "as
// long as possible", which a store must not turn into an error or an
// expiry in the past when it converts it to its own unit.
func testLeaseLongestTTL(t *testing.T, s store.TokenStore) {
	ctx, app := testContext(t), unique("app")
	l := acquire(t, ctx, s, app, time.Duration(math.MaxInt64))
	wantHeld(t, ctx, s, app)
	noErr(t, "ReleaseLease", s.ReleaseLease(ctx, l))
}

func testLeaseStaleRelease(t testing.TB, s store.TokenStore, tm *timing) {
	ctx, app := testContext(t), unique("app")
	stale := acquire(t, ctx, s, app, tm.short)
	wantHeld(t, ctx, s, app)
	tm.wait() // the lease expires on its own
	current := acquire(t, ctx, s, app, time.Minute)
	noErr(t, "ReleaseLease(stale)", s.ReleaseLease(ctx, stale))
	wantHeld(t, ctx, s, app)
	noErr(t, "ReleaseLease(current)", s.ReleaseLease(ctx, current))
	acquire(t, ctx, s, app, time.Minute)
}

func testLeaseRace(t *testing.T, s store.TokenStore) {
	const callers = 100
	ctx, app := testContext(t), unique("app")
	var (
		wg              sync.WaitGroup
		mu              sync.Mutex
		won, held, fail int
		start           = make(chan struct{})
	)
	for range callers {
		wg.Go(func() {
			<-start
			_, err := s.AcquireLease(ctx, app, time.Minute)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, store.ErrLeaseHeld):
				held++
			default:
				fail++
			}
		})
	}
	close(start)
	wg.Wait()
	if won != 1 || held != callers-1 || fail != 0 {
		t.Fatalf("%d racing AcquireLease calls: %d won, %d got ErrLeaseHeld, %d failed; want 1, %d, 0",
			callers, won, held, fail, callers-1)
	}
}

func testTokenInvalidArguments(t *testing.T, s store.TokenStore) {
	ctx, app := testContext(t), unique("app")
	tok := hourToken("tok")
	tests := []struct {
		name string
		call func() error
	}{
		{"GetToken empty key", func() error { _, err := s.GetToken(ctx, ""); return err }},
		{"SetToken empty key", func() error { return s.SetToken(ctx, "", tok) }},
		{"SetToken empty token", func() error { return s.SetToken(ctx, app, store.Token{ExpiresAt: tok.ExpiresAt}) }},
		{"SetToken zero ExpiresAt", func() error { return s.SetToken(ctx, app, store.Token{AccessToken: "tok"}) }},
		{"InvalidateToken empty key", func() error { return s.InvalidateToken(ctx, "", "tok") }},
		{"InvalidateToken empty token", func() error { return s.InvalidateToken(ctx, app, "") }},
		{"AcquireLease empty key", func() error { _, err := s.AcquireLease(ctx, "", time.Minute); return err }},
		{"AcquireLease ttl=0", func() error { _, err := s.AcquireLease(ctx, app, 0); return err }},
		{"AcquireLease ttl<0", func() error { _, err := s.AcquireLease(ctx, app, -time.Second); return err }},
		{"ReleaseLease empty key", func() error { return s.ReleaseLease(ctx, store.Lease{ID: "x"}) }},
		{"ReleaseLease empty ID", func() error { return s.ReleaseLease(ctx, store.Lease{Key: app}) }},
	}
	for _, tc := range tests {
		wantErrIs(t, tc.name, tc.call(), store.ErrInvalidArgument)
	}
	wantNoToken(t, ctx, s, app)
	acquire(t, ctx, s, app, time.Minute) // no lease was taken
}

func testTokenCancelledContext(t *testing.T, s store.TokenStore) {
	ctx, app := testContext(t), unique("app")
	tok := hourToken("tok")
	noErr(t, "SetToken", s.SetToken(ctx, app, tok))
	lease := acquire(t, ctx, s, app, time.Minute)
	dead := cancelledContext()
	tests := []struct {
		name string
		call func() error
	}{
		{"GetToken", func() error { _, err := s.GetToken(dead, app); return err }},
		{"SetToken", func() error { return s.SetToken(dead, app, hourToken("other")) }},
		{"InvalidateToken", func() error { return s.InvalidateToken(dead, app, "tok") }},
		{"AcquireLease", func() error { _, err := s.AcquireLease(dead, unique("free"), time.Minute); return err }},
		{"ReleaseLease", func() error { return s.ReleaseLease(dead, lease) }},
	}
	for _, tc := range tests {
		wantErrIs(t, tc.name, tc.call(), context.Canceled)
	}
	wantToken(t, ctx, s, app, tok)
	wantHeld(t, ctx, s, app)
}
