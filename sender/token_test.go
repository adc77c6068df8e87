package sender_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store"
)

// sendMany runs n concurrent sends and returns how many failed.
func sendMany(t *testing.T, c *sender.Client, n int, during func(i int)) int64 {
	t.Helper()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range n {
		wg.Go(func() {
			if during != nil {
				during(i)
			}
			if _, err := c.SendSubscribe(t.Context(), message("o-user", "T1")); err != nil {
				failed.Add(1)
				t.Errorf("send %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	return failed.Load()
}

func TestColdCacheFetchesOnce(t *testing.T) {
	for _, stable := range []bool{false, true} {
		name := map[bool]string{false: "token", true: "stable_token"}[stable]
		t.Run(name, func(t *testing.T) {
			srv := newServer(t)
			c := newClient(t, srv, sender.WithStableToken(stable), patientHTTP())
			if failed := sendMany(t, c, 1000, nil); failed != 0 {
				t.Fatalf("%d sends failed", failed)
			}
			if got := srv.TokenFetches(); got != 1 {
				t.Fatalf("token fetches = %d, want 1", got)
			}
			if got := srv.SendCount(); got != 1000 {
				t.Fatalf("sends = %d, want 1000", got)
			}

			// WeChat invalidates the token mid-run: the sends in flight
			// fail with 40001, and exactly one more fetch follows.
			var once sync.Once
			failed := sendMany(t, c, 1000, func(i int) {
				if i == 300 {
					once.Do(srv.InvalidateToken)
				}
			})
			if failed != 0 {
				t.Fatalf("%d sends failed", failed)
			}
			if got := srv.TokenFetches(); got != 2 {
				t.Fatalf("token fetches after invalidation = %d, want 2", got)
			}
			if got := srv.SendCount(); got != 2000 {
				t.Fatalf("sends = %d, want 2000", got)
			}
			if rejected := srv.SendRequests() - srv.SendCount(); rejected < 1 {
				t.Fatal("no send met the invalidated token")
			} else {
				t.Logf("%d sends met the invalidated token and were repeated once", rejected)
			}
			// stable_token hands out the new token without force_refresh.
			if got := srv.ForceRefreshes(); got != 0 {
				t.Fatalf("force refreshes = %d, want 0", got)
			}
		})
	}
}

func TestExpiredTokenRefreshesOnce(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	ctx := t.Context()
	if _, err := c.SendSubscribe(ctx, message("u", "T")); err != nil {
		t.Fatal(err)
	}
	srv.ExpireTokens()
	if _, err := c.SendSubscribe(ctx, message("u", "T")); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.TokenFetches(), 2; got != want {
		t.Fatalf("token fetches = %d, want %d", got, want)
	}
	// 1 success, 1 rejected with 42001, 1 success after the refresh.
	if got, want := srv.SendRequests(), 3; got != want {
		t.Fatalf("send requests = %d, want %d", got, want)
	}
}

// rejectingSource hands out a token WeChat never accepts.
type rejectingSource struct{ invalidated atomic.Int32 }

func (r *rejectingSource) Token(context.Context) (store.Token, error) {
	return store.Token{AccessToken: "never-valid", ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (r *rejectingSource) Invalidate(_ context.Context, tok string) error {
	if tok == "never-valid" {
		r.invalidated.Add(1)
	}
	return nil
}

func TestTokenRetriedOnlyOnce(t *testing.T) {
	srv := newServer(t)
	src := &rejectingSource{}
	c, err := sender.New(srv.AppID, "", sender.WithBaseURL(srv.URL), sender.WithTokenSource(src))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.SendSubscribe(t.Context(), message("u", "T"))
	var ae *sender.APIError
	if !errors.Is(err, sender.ErrTokenInvalid) || !errors.As(err, &ae) || ae.Code != 40001 {
		t.Fatalf("error = %v, want a 40001 APIError", err)
	}
	if got := srv.SendRequests(); got != 2 {
		t.Fatalf("send requests = %d, want 2 (the call and one retry)", got)
	}
	if got := src.invalidated.Load(); got != 1 {
		t.Fatalf("Invalidate calls = %d, want 1", got)
	}
	if got := srv.TokenFetches(); got != 0 {
		t.Fatalf("token fetches = %d, want 0 with a custom source", got)
	}
}

func TestSharedTokenStoreFetchesOnce(t *testing.T) {
	for _, kind := range storeKinds {
		for _, stable := range []bool{false, true} {
			name := kind.name + map[bool]string{false: "/token", true: "/stable_token"}[stable]
			t.Run(name, func(t *testing.T) {
				srv := newServer(t)
				shared := kind.open(t)
				a := newClient(t, srv, sender.WithTokenStore(shared), sender.WithStableToken(stable), patientHTTP())
				b := newClient(t, srv, sender.WithTokenStore(shared), sender.WithStableToken(stable), patientHTTP())
				var wg sync.WaitGroup
				for i := range 200 {
					c := a
					if i%2 == 1 {
						c = b
					}
					wg.Go(func() {
						if _, err := c.SendSubscribe(t.Context(), message("u", "T")); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
				if got := srv.TokenFetches(); got != 1 {
					t.Fatalf("token fetches for two clients = %d, want 1", got)
				}

				// One instance sees the token rejected: both move to one
				// new token.
				srv.InvalidateToken()
				for _, c := range []*sender.Client{a, b, a, b} {
					if _, err := c.SendSubscribe(t.Context(), message("u", "T")); err != nil {
						t.Fatal(err)
					}
				}
				if got := srv.TokenFetches(); got != 2 {
					t.Fatalf("token fetches after invalidation = %d, want 2", got)
				}
			})
		}
	}
}

func TestTokenErrors(t *testing.T) {
	srv := newServer(t)
	for _, tc := range []struct {
		name   string
		secret string
		stable bool
		code   int
	}{
		{"bad secret", "wrong", false, 40125},
		{"bad secret stable", "wrong", true, 40125},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sender.New(srv.AppID, tc.secret, sender.WithBaseURL(srv.URL), sender.WithStableToken(tc.stable))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.SendSubscribe(t.Context(), message("u", "T"))
			var ae *sender.APIError
			if !errors.As(err, &ae) || ae.Code != tc.code {
				t.Fatalf("error = %v, want errcode %d", err, tc.code)
			}
			if srv.SendRequests() != 0 {
				t.Fatal("a send was attempted without a token")
			}
		})
	}
}

func TestTokenSourceExposed(t *testing.T) {
	srv := newServer(t, sendertest.WithTokenTTL(time.Hour))
	c := newClient(t, srv)
	tok, err := c.TokenSource().Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || time.Until(tok.ExpiresAt) < 59*time.Minute {
		t.Fatalf("token = %+v, want one valid for about an hour", tok)
	}
	again, err := c.TokenSource().Token(t.Context())
	if err != nil || again != tok || srv.TokenFetches() != 1 {
		t.Fatalf("second Token() = %+v, %v with %d fetches; want the cached one", again, err, srv.TokenFetches())
	}
}

// When WeChat rejects a stable token that stable_token keeps handing out,
// the client force-refreshes it, at most once per 30 s.
func TestStableForceRefresh(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, sender.WithStableToken(true))
	ctx := t.Context()
	if _, err := c.SendSubscribe(ctx, message("u", "T")); err != nil {
		t.Fatal(err)
	}
	srv.OnSend(sendertest.Rule{Times: 1, Reply: sendertest.Reply{ErrCode: 40001}})
	if _, err := c.SendSubscribe(ctx, message("u", "T")); err != nil {
		t.Fatal(err)
	}
	if got := srv.ForceRefreshes(); got != 1 {
		t.Fatalf("force refreshes = %d, want 1", got)
	}
	// Again within 30 s: no second force refresh, the send fails.
	srv.OnSend(sendertest.Rule{Times: 1, Reply: sendertest.Reply{ErrCode: 40001}})
	if _, err := c.SendSubscribe(ctx, message("u", "T")); !errors.Is(err, sender.ErrTokenInvalid) {
		t.Fatalf("error = %v, want ErrTokenInvalid", err)
	}
	if got := srv.ForceRefreshes(); got != 1 {
		t.Fatalf("force refreshes = %d, want still 1", got)
	}
}
