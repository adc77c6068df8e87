package sender

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wxsub/wxsub/store"
)

// TokenSource supplies access tokens, in the spirit of oauth2.TokenSource.
// Implementations must be safe for concurrent use.
type TokenSource interface {
	// Token returns a token valid for at least a short while.
	Token(ctx context.Context) (store.Token, error)

	// Invalidate reports that WeChat rejected accessToken (40001, 40014,
	// 42001). The source must stop returning it; when it already returns
	// another token, Invalidate is a no-op, so that a burst of callers
	// failing with one stale token causes a single refresh.
	Invalidate(ctx context.Context, accessToken string) error
}

// minUsable is the least time left for which a freshly stored token is
// still taken, even inside the refresh margin.
const minUsable = 10 * time.Second

// storeSource is the built-in TokenSource. It keeps the current token in
// memory, shares it through a store.TokenStore, and refreshes it with a
// single fetch per process (one flight) and per fleet (the store's lease:
// one instance fetches, the others poll the store until the token appears).
type storeSource struct {
	store    store.TokenStore
	key      string
	margin   time.Duration
	leaseTTL time.Duration
	poll     time.Duration
	now      func() time.Time
	fetch    func(ctx context.Context, force bool) (store.Token, error)
	force    *forceLimiter // nil unless stable tokens
	log      *slog.Logger

	cur atomic.Pointer[cachedToken]

	mu     sync.Mutex
	flight *flight
	// bad is the last token WeChat rejected; the next fetch skips it in
	// the store and, for stable tokens, forces a new one.
	bad string
}

type cachedToken struct {
	tok        store.Token
	freshUntil time.Time
}

type flight struct {
	done chan struct{}
	tok  store.Token
	err  error
}

// Token returns the cached token, or joins the one refresh in flight.
func (s *storeSource) Token(ctx context.Context) (store.Token, error) {
	if e := s.cur.Load(); e != nil && s.now().Before(e.freshUntil) {
		return e.tok, nil
	}
	s.mu.Lock()
	if e := s.cur.Load(); e != nil && s.now().Before(e.freshUntil) {
		s.mu.Unlock()
		return e.tok, nil
	}
	f := s.flight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.flight = f
		// The refresh serves every waiter, so it must not die with the
		// caller that happened to start it; it is bounded by its own
		// timeout instead.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*s.leaseTTL)
		go s.run(rctx, cancel, f, s.bad)
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.tok, f.err
	case <-ctx.Done():
		return store.Token{}, ctx.Err()
	}
}

func (s *storeSource) run(ctx context.Context, cancel context.CancelFunc, f *flight, bad string) {
	defer cancel()
	tok, err := s.refresh(ctx, bad)
	s.mu.Lock()
	// A flight that Invalidate detached began before WeChat rejected the
	// token and may bring that token back: its waiters get its result,
	// but it no longer updates the cache.
	if s.flight == f {
		s.flight = nil
		if err == nil {
			s.cur.Store(s.entry(tok))
			if s.bad == bad {
				s.bad = ""
			}
		}
	}
	s.mu.Unlock()
	f.tok, f.err = tok, err
	close(f.done)
}

// entry caches tok until margin before its expiry, or half its remaining
// life when that is shorter.
func (s *storeSource) entry(tok store.Token) *cachedToken {
	early := min(s.margin, tok.ExpiresAt.Sub(s.now())/2)
	return &cachedToken{tok: tok, freshUntil: tok.ExpiresAt.Add(-max(early, 0))}
}

// Invalidate drops accessToken if it is still the cached token, here and in
// the store (compare-and-delete).
func (s *storeSource) Invalidate(ctx context.Context, accessToken string) error {
	s.mu.Lock()
	e := s.cur.Load()
	mine := e != nil && e.tok.AccessToken == accessToken
	if mine {
		s.cur.Store(nil)
		s.bad = accessToken
		// A refresh in flight began before the rejection and may return
		// the rejected token (stable_token does while it is valid, and a
		// failed fetch falls back to it): later callers start a new one
		// that knows the token is bad.
		s.flight = nil
	}
	s.mu.Unlock()
	if !mine {
		// Already replaced (or being replaced) by another caller.
		return nil
	}
	if err := s.store.InvalidateToken(ctx, s.key, accessToken); err != nil {
		return fmt.Errorf("token store: %w", err)
	}
	return nil
}

// rejected reports whether tok is the token WeChat rejected last.
func (s *storeSource) rejected(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return tok == s.bad
}

// refresh finds a token in the store or fetches one under the lease.
func (s *storeSource) refresh(ctx context.Context, bad string) (store.Token, error) {
	var stale store.Token // seen in the store but inside the margin
	first := true
	for {
		t, err := s.store.GetToken(ctx, s.key)
		switch {
		case err == nil && s.usable(t, bad, stale, first):
			return t, nil
		case err == nil && first && t.AccessToken != bad:
			stale = t
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return store.Token{}, fmt.Errorf("token store: %w", err)
		}
		first = false
		lease, err := s.store.AcquireLease(ctx, s.key, s.leaseTTL)
		if err == nil {
			return s.fetchLeased(ctx, lease, bad, stale)
		}
		if !errors.Is(err, store.ErrLeaseHeld) {
			return store.Token{}, fmt.Errorf("token store: %w", err)
		}
		// Another instance is fetching: wait for its token to appear (or
		// for its lease to lapse, and then take over).
		if err := sleep(ctx, s.poll); err != nil {
			return store.Token{}, err
		}
	}
}

// usable reports whether a stored token may be used: it is not the rejected
// one, and it is outside the margin or, after the first look, it is new
// (a token another instance just stored, however short its life).
func (s *storeSource) usable(t store.Token, bad string, stale store.Token, first bool) bool {
	if t.AccessToken == bad {
		return false
	}
	now := s.now()
	if t.Valid(now, s.margin) {
		return true
	}
	return !first && t.AccessToken != stale.AccessToken && t.Valid(now, minUsable)
}

func (s *storeSource) fetchLeased(ctx context.Context, lease store.Lease, bad string, stale store.Token) (store.Token, error) {
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := s.store.ReleaseLease(rctx, lease); err != nil {
			s.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/sender: releasing the token lease", slog.Any("error", err))
		}
	}()
	// Another instance may have stored a token between our look and the
	// lease.
	if t, err := s.store.GetToken(ctx, s.key); err == nil && s.usable(t, bad, stale, false) {
		return t, nil
	}
	t, err := s.fetch(ctx, false)
	force := false
	if err == nil && bad != "" && t.AccessToken == bad && s.force != nil && s.force.allow(s.now()) {
		// stable_token handed back the token WeChat just rejected: only a
		// force refresh replaces it. (When another party refreshed it,
		// the plain call above already returned the new one.)
		force = true
		t, err = s.fetch(ctx, true)
	}
	if err != nil {
		if stale.Valid(s.now(), 0) {
			s.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/sender: token refresh failed; using the current token until it expires",
				slog.Any("error", err))
			return stale, nil
		}
		return store.Token{}, err
	}
	if t.AccessToken == bad {
		// A force refresh is not allowed now (30 s apart, daily cap), and
		// sending with the rejected token would fail again.
		return store.Token{}, fmt.Errorf("%w: WeChat returned the rejected token again and a force refresh is not allowed yet", ErrTokenInvalid)
	}
	if s.rejected(t.AccessToken) {
		// WeChat rejected it while it was being fetched: do not share it.
		return t, nil
	}
	s.log.LogAttrs(ctx, slog.LevelInfo, "wxsub/sender: fetched an access token",
		slog.Time("expires_at", t.ExpiresAt), slog.Bool("force_refresh", force))
	if err := s.store.SetToken(ctx, s.key, t); err != nil {
		s.log.LogAttrs(ctx, slog.LevelError, "wxsub/sender: storing the access token", slog.Any("error", err))
	}
	return t, nil
}
