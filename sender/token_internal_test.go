package sender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/store"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newTestSource returns a storeSource whose fetch hands out tokens living
// life, counting fetches and recording force flags.
func newTestSource(clock *fakeClock, life time.Duration, fetchErr *atomic.Pointer[error]) (*storeSource, *atomic.Int64, *[]bool) {
	var n atomic.Int64
	var mu sync.Mutex
	forces := &[]bool{}
	s := &storeSource{
		store:    newMemTokenStore(clock.Now),
		key:      "app",
		margin:   5 * time.Minute,
		leaseTTL: time.Second,
		poll:     time.Millisecond,
		now:      clock.Now,
		log:      discardLogger(),
	}
	s.fetch = func(ctx context.Context, force bool) (store.Token, error) {
		if fetchErr != nil {
			if e := fetchErr.Load(); e != nil {
				return store.Token{}, *e
			}
		}
		i := n.Add(1)
		mu.Lock()
		*forces = append(*forces, force)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond) // let concurrent callers pile up
		return store.Token{AccessToken: "tok" + string(rune('0'+i)), ExpiresAt: clock.Now().Add(life)}, nil
	}
	return s, &n, forces
}

func TestSourceRefreshMargin(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)}
	s, fetches, _ := newTestSource(clock, 2*time.Hour, nil)
	ctx := t.Context()
	first, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(time.Hour + 54*time.Minute) // 6 minutes left: still fresh
	if tok, _ := s.Token(ctx); tok != first || fetches.Load() != 1 {
		t.Fatalf("got %v after %d fetches; want the cached token", tok, fetches.Load())
	}
	clock.Add(2 * time.Minute) // 4 minutes left: inside the margin
	tok, err := s.Token(ctx)
	if err != nil || tok == first || fetches.Load() != 2 {
		t.Fatalf("got %v, %v after %d fetches; want a new token", tok, err, fetches.Load())
	}
}

func TestSourceShortLivedToken(t *testing.T) {
	// stable_token may answer expires_in as low as 300, less than the
	// margin: the token is used for half its life, not refetched per call.
	clock := &fakeClock{now: time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)}
	s, fetches, _ := newTestSource(clock, 300*time.Second, nil)
	ctx := t.Context()
	for range 100 {
		if _, err := s.Token(ctx); err != nil {
			t.Fatal(err)
		}
	}
	clock.Add(149 * time.Second)
	if _, err := s.Token(ctx); err != nil || fetches.Load() != 1 {
		t.Fatalf("fetches = %d, %v; want 1", fetches.Load(), err)
	}
	clock.Add(2 * time.Second)
	if _, err := s.Token(ctx); err != nil || fetches.Load() != 2 {
		t.Fatalf("fetches = %d, %v; want 2", fetches.Load(), err)
	}
}

func TestSourceSingleFlight(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)}
	s, fetches, forces := newTestSource(clock, 2*time.Hour, nil)
	ctx := t.Context()
	var wg sync.WaitGroup
	toks := make([]store.Token, 200)
	for i := range toks {
		wg.Go(func() {
			var err error
			if toks[i], err = s.Token(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if fetches.Load() != 1 {
		t.Fatalf("fetches = %d, want 1", fetches.Load())
	}
	for _, tok := range toks {
		if tok != toks[0] {
			t.Fatalf("callers got different tokens: %v and %v", tok, toks[0])
		}
	}
	// A burst of callers report the same rejected token: one refresh.
	for range 50 {
		wg.Go(func() {
			if err := s.Invalidate(ctx, toks[0].AccessToken); err != nil {
				t.Error(err)
			}
			if _, err := s.Token(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if fetches.Load() != 2 {
		t.Fatalf("fetches after a burst of invalidations = %d, want 2", fetches.Load())
	}
	if len(*forces) != 2 || (*forces)[0] || (*forces)[1] {
		t.Fatalf("force flags = %v, want none without a limiter", *forces)
	}
	// Invalidating a token that is no longer current changes nothing.
	if err := s.Invalidate(ctx, toks[0].AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Token(ctx); err != nil || fetches.Load() != 2 {
		t.Fatalf("fetches = %d, %v; want 2", fetches.Load(), err)
	}
}

func TestSourceForceRefreshOnlyAfterRejection(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)}
	s, _, _ := newTestSource(clock, 2*time.Hour, nil)
	s.force = &forceLimiter{cap: 20, gap: 30 * time.Second}
	// Like stable_token: the same token until it expires or a force.
	var forces []bool
	cur, n := store.Token{}, 0
	s.fetch = func(_ context.Context, force bool) (store.Token, error) {
		forces = append(forces, force)
		if force || !cur.Valid(clock.Now(), 0) {
			n++
			cur = store.Token{AccessToken: fmt.Sprint("stable", n), ExpiresAt: clock.Now().Add(2 * time.Hour)}
		}
		return cur, nil
	}
	ctx := t.Context()
	check := func(step string, wantErr error, want ...bool) {
		t.Helper()
		forces = nil
		tok, err := s.Token(ctx)
		if !errors.Is(err, wantErr) || fmt.Sprint(forces) != fmt.Sprint(want) {
			t.Fatalf("%s: token %v, error %v, force flags %v; want error %v, flags %v", step, tok, err, forces, wantErr, want)
		}
	}
	check("cold", nil, false)
	s.Invalidate(ctx, cur.AccessToken)
	check("rejected", nil, false, true)
	clock.Add(10 * time.Second)
	s.Invalidate(ctx, cur.AccessToken)
	check("rejected again within 30 s", ErrTokenInvalid, false)
	clock.Add(21 * time.Second)
	check("30 s later", nil, false, true)
	clock.Add(2*time.Hour - 4*time.Minute)
	check("near expiry: no force", nil, false)
}

func TestSourceFallsBackToCurrentToken(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)}
	var fail atomic.Pointer[error]
	s, _, _ := newTestSource(clock, 2*time.Hour, &fail)
	ctx := t.Context()
	first, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("wechat down")
	fail.Store(&boom)
	clock.Add(2*time.Hour - 4*time.Minute) // inside the margin, still valid
	if tok, err := s.Token(ctx); err != nil || tok != first {
		t.Fatalf("got %v, %v; want the still-valid token while refresh fails", tok, err)
	}
	clock.Add(5 * time.Minute) // expired
	if _, err := s.Token(ctx); !errors.Is(err, boom) {
		t.Fatalf("error = %v, want the fetch error", err)
	}
}

func TestForceLimiter(t *testing.T) {
	// Beijing midnight is 16:00 UTC.
	t0 := time.Date(2024, 10, 1, 15, 0, 0, 0, time.UTC)
	l := &forceLimiter{cap: 2, gap: 30 * time.Second}
	for _, tc := range []struct {
		at   time.Duration
		want bool
	}{
		{0, true},
		{10 * time.Second, false},                 // within 30 s
		{31 * time.Second, true},                  // second of the day
		{5 * time.Minute, false},                  // daily cap reached
		{59 * time.Minute, false},                 // 15:59 UTC, same Beijing day
		{time.Hour + time.Second, true},           // 16:00:01 UTC, next Beijing day
		{time.Hour + 10*time.Second, false},       // within 30 s again
		{time.Hour + 2*time.Minute, true},         // second of the new day
		{time.Hour + 3*time.Minute, false},        // cap
		{25*time.Hour + 1*time.Second, true},      // the day after
		{25*time.Hour + 31*time.Second, true},     // still within that day's cap
		{25*time.Hour + 62*time.Second, false},    // cap
		{49*time.Hour + 1*time.Second, true},      // and again
		{49*time.Hour + 1*time.Second + 1, false}, // same instant plus 1ns
	} {
		if got := l.allow(t0.Add(tc.at)); got != tc.want {
			t.Errorf("allow at +%v = %v, want %v", tc.at, got, tc.want)
		}
	}
	if (&forceLimiter{cap: 0, gap: time.Second}).allow(t0) {
		t.Error("a cap of 0 allowed a force refresh")
	}
}

func TestRetryDelay(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for attempt := 1; attempt <= 10; attempt++ {
		full := min(p.BaseDelay<<(attempt-1), p.MaxDelay)
		for range 50 {
			d := p.delay(attempt)
			if d <= full/2 || d > full {
				t.Fatalf("delay(%d) = %v, want in (%v, %v]", attempt, d, full/2, full)
			}
		}
	}
	if d := (RetryPolicy{MaxAttempts: 3}).delay(2); d != 0 {
		t.Fatalf("zero policy delay = %v, want 0", d)
	}
}

func TestMemTokenStore(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)}
	m := newMemTokenStore(clock.Now)
	ctx := t.Context()
	if _, err := m.GetToken(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("GetToken on empty = %v, want ErrNotFound", err)
	}
	tok := store.Token{AccessToken: "a", ExpiresAt: clock.Now().Add(time.Minute)}
	m.SetToken(ctx, "k", tok)
	if got, err := m.GetToken(ctx, "k"); err != nil || got != tok {
		t.Fatalf("GetToken = %v, %v", got, err)
	}
	m.InvalidateToken(ctx, "k", "other")
	if _, err := m.GetToken(ctx, "k"); err != nil {
		t.Fatal("InvalidateToken removed a different token")
	}
	m.InvalidateToken(ctx, "k", "a")
	if _, err := m.GetToken(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("InvalidateToken kept the token")
	}
	m.SetToken(ctx, "k", tok)
	clock.Add(time.Minute)
	if _, err := m.GetToken(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("an expired token was returned")
	}
	l1, err := m.AcquireLease(ctx, "k", time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.AcquireLease(ctx, "k", time.Second); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatalf("second AcquireLease = %v, want ErrLeaseHeld", err)
	}
	clock.Add(time.Second)
	l2, err := m.AcquireLease(ctx, "k", time.Second)
	if err != nil {
		t.Fatalf("AcquireLease after expiry: %v", err)
	}
	m.ReleaseLease(ctx, l1) // stale holder: no-op
	if _, err := m.AcquireLease(ctx, "k", time.Second); !errors.Is(err, store.ErrLeaseHeld) {
		t.Fatal("a stale ReleaseLease freed the new holder's lease")
	}
	m.ReleaseLease(ctx, l2)
	if _, err := m.AcquireLease(ctx, "k", time.Second); err != nil {
		t.Fatalf("AcquireLease after release: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := m.GetToken(cctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("GetToken with a cancelled context = %v", err)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestSourceRejectedTokenReturned(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)}
	s, _, forces := newTestSource(clock, 2*time.Hour, nil)
	s.force = &forceLimiter{cap: 0, gap: 30 * time.Second} // no force refresh left today
	ctx := t.Context()
	tok, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Like stable_token without force_refresh: the same token comes back.
	s.fetch = func(context.Context, bool) (store.Token, error) { return tok, nil }
	if err := s.Invalidate(ctx, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Token(ctx); !errors.Is(err, ErrTokenInvalid) {
		t.Fatalf("error = %v, want ErrTokenInvalid", err)
	}
	if len(*forces) != 1 || (*forces)[0] {
		t.Fatalf("force flags = %v", *forces)
	}
}

// WeChat rejects the token while a refresh is in flight, and that refresh
// brings the rejected token back (stable_token does while it is valid): the
// caller that saw the rejection gets a new token, and the rejected one is
// neither cached nor shared through the store.
func TestSourceInvalidateDuringRefresh(t *testing.T) {
	clock := &fakeClock{now: time.Date(2024, 10, 1, 8, 0, 0, 0, time.UTC)}
	s, _, _ := newTestSource(clock, 2*time.Hour, nil)
	ctx := t.Context()
	old, err := s.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.Add(2*time.Hour - 4*time.Minute) // inside the margin: a refresh starts
	waiting := &leaseWatch{TokenStore: s.store, held: make(chan struct{})}
	s.store = waiting
	started, release := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	s.fetch = func(context.Context, bool) (store.Token, error) {
		if calls.Add(1) == 1 {
			close(started)
			<-release
			return old, nil
		}
		return store.Token{AccessToken: "fresh", ExpiresAt: clock.Now().Add(2 * time.Hour)}, nil
	}
	inFlight := make(chan store.Token, 1)
	go func() {
		tok, _ := s.Token(ctx)
		inFlight <- tok
	}()
	<-started
	// A send made with the old token meets 40001 and asks again.
	if err := s.Invalidate(ctx, old.AccessToken); err != nil {
		t.Fatal(err)
	}
	again := make(chan store.Token, 1)
	go func() {
		tok, err := s.Token(ctx)
		if err != nil {
			t.Error(err)
		}
		again <- tok
	}()
	// It starts a refresh of its own, which waits for the first one's
	// lease.
	select {
	case <-waiting.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the caller after the rejection did not start a refresh of its own")
	}
	close(release)
	if tok := <-inFlight; tok != old {
		t.Fatalf("the refresh begun before the rejection gave %v, want its own result %v", tok, old)
	}
	if tok := <-again; tok.AccessToken != "fresh" {
		t.Fatalf("after the rejection Token = %q, want a new token", tok.AccessToken)
	}
	if tok, err := s.Token(ctx); err != nil || tok.AccessToken != "fresh" {
		t.Fatalf("cached token = %q, %v; want the new one", tok.AccessToken, err)
	}
	if tok, err := s.store.GetToken(ctx, s.key); err != nil || tok.AccessToken != "fresh" {
		t.Fatalf("stored token = %q, %v; want the new one", tok.AccessToken, err)
	}
}

// leaseWatch is a token store that closes held the first time a lease is
// found held.
type leaseWatch struct {
	store.TokenStore
	once sync.Once
	held chan struct{}
}

func (w *leaseWatch) AcquireLease(ctx context.Context, key string, ttl time.Duration) (store.Lease, error) {
	l, err := w.TokenStore.AcquireLease(ctx, key, ttl)
	if errors.Is(err, store.ErrLeaseHeld) {
		w.once.Do(func() { close(w.held) })
	}
	return l, err
}
