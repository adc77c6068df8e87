package redis_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/store"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// everyCall lists one call of every store method, for tests that check how
// the store behaves when Redis misbehaves.
func everyCall(s *wxredis.Store) []struct {
	name string
	call func(ctx context.Context) error
} {
	receipt := store.Receipt{OpenID: "u", TemplateID: "t", Kind: store.OneTime, Generation: "g"}
	opReceipt := store.Receipt{OpenID: "u", TemplateID: "t", Kind: store.OneTime, Generation: "g", Op: "op"}
	lease := store.Lease{Key: "app", ID: "id"}
	tok := store.Token{AccessToken: "tok", ExpiresAt: time.Now().Add(time.Hour)}
	return []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"AddOneTime", func(ctx context.Context) error { _, err := s.AddOneTime(ctx, "u", "t", 1, 0); return err }},
		{"SetLongTerm", func(ctx context.Context) error { return s.SetLongTerm(ctx, "u", "t", 0) }},
		{"Consume", func(ctx context.Context) error { _, err := s.Consume(ctx, "u", "t"); return err }},
		{"Refund", func(ctx context.Context) error { return s.Refund(ctx, receipt) }},
		{"Revoke", func(ctx context.Context) error { return s.Revoke(ctx, "u", "t") }},
		{"Get", func(ctx context.Context) error { _, err := s.Get(ctx, "u", "t"); return err }},
		{"List", func(ctx context.Context) error { _, err := s.List(ctx, "u"); return err }},
		{"DeleteUser", func(ctx context.Context) error { return s.DeleteUser(ctx, "u") }},
		{"GetToken", func(ctx context.Context) error {
			_, err := s.GetToken(ctx, "app")
			if errors.Is(err, store.ErrNotFound) {
				return nil // a healthy answer
			}
			return err
		}},
		{"SetToken", func(ctx context.Context) error { return s.SetToken(ctx, "app", tok) }},
		{"InvalidateToken", func(ctx context.Context) error { return s.InvalidateToken(ctx, "app", "tok") }},
		{"AcquireLease", func(ctx context.Context) error {
			_, err := s.AcquireLease(ctx, "app", time.Second)
			if errors.Is(err, store.ErrLeaseHeld) {
				return nil // a healthy answer
			}
			return err
		}},
		{"ReleaseLease", func(ctx context.Context) error { return s.ReleaseLease(ctx, lease) }},
		{"ConsumeOnce", func(ctx context.Context) error {
			_, _, err := s.ConsumeOnce(ctx, "op", time.Minute, "u", "t")
			if errors.Is(err, store.ErrNoGrant) {
				return nil // a healthy answer
			}
			return err
		}},
		{"Settle", func(ctx context.Context) error {
			_, err := s.Settle(ctx, opReceipt, store.Refunded)
			if errors.Is(err, store.ErrNotFound) {
				return nil // a healthy answer
			}
			return err
		}},
		{"LookupReceipt", func(ctx context.Context) error {
			_, _, err := s.LookupReceipt(ctx, "u", "op")
			if errors.Is(err, store.ErrNotFound) {
				return nil // a healthy answer
			}
			return err
		}},
		{"Begin", func(ctx context.Context) error { _, err := s.Begin(ctx, "push", time.Second); return err }},
		{"Done", func(ctx context.Context) error { return s.Done(ctx, "push", time.Second) }},
		{"Abort", func(ctx context.Context) error { return s.Abort(ctx, "push") }},
	}
}

// wantAllFail calls every method at once, each with a 300 ms deadline, and
// checks that each fails within 2.5 s: well after the deadline, for a
// loaded machine to get round to thirteen goroutines, and still before
// go-redis's own limits (5 s to dial or read, 6 s to wait for a
// connection), which a call that ignored its deadline would run into.
// want, if not nil, must also hold for every error.
func wantAllFail(t *testing.T, s *wxredis.Store, want error) {
	t.Helper()
	calls := everyCall(s)
	errs := make([]error, len(calls))
	took := make([]time.Duration, len(calls))
	var wg sync.WaitGroup
	for i, tc := range calls {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
			defer cancel()
			start := time.Now()
			errs[i] = tc.call(ctx)
			took[i] = time.Since(start)
		})
	}
	wg.Wait()
	for i, tc := range calls {
		switch {
		case errs[i] == nil:
			t.Errorf("%s succeeded with Redis unavailable", tc.name)
		case want != nil && !errors.Is(errs[i], want):
			t.Errorf("%s: err = %v, want one wrapping %v", tc.name, errs[i], want)
		}
		if took[i] > 2500*time.Millisecond {
			t.Errorf("%s took %v to fail, want under 2.5s (err: %v)", tc.name, took[i], errs[i])
		}
	}
}

// wantAllWork waits for Redis to answer again, then checks every method.
func wantAllWork(t *testing.T, s *wxredis.Store) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := s.AddOneTime(ctx, "u", "t", 1, 0)
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover after Redis came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, tc := range everyCall(s) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := tc.call(ctx)
		cancel()
		if err != nil {
			t.Errorf("%s after recovery: %v", tc.name, err)
		}
	}
}

// TestRedisDown stops a private Redis under a working store, checks that
// every method fails promptly, then restarts it and checks that the store
// recovers (go-redis reconnects; the scripts are loaded again).
func TestRedisDown(t *testing.T) {
	clients := []struct {
		name string
		opts func(addr string) *goredis.Options
	}{
		{"default-options", func(addr string) *goredis.Options { return &goredis.Options{Addr: addr} }},
		{"context-timeouts", func(addr string) *goredis.Options {
			return &goredis.Options{Addr: addr, ContextTimeoutEnabled: true}
		}},
	}
	for _, tc := range clients {
		t.Run(tc.name, func(t *testing.T) {
			srv := redistest.StartServer(t)
			c := goredis.NewClient(tc.opts(srv.Addr()))
			t.Cleanup(func() { _ = c.Close() })
			s, err := wxredis.New(c)
			if err != nil {
				t.Fatal(err)
			}
			wantAllWork(t, s)
			srv.Stop()
			wantAllFail(t, s, nil)
			srv.Start()
			wantAllWork(t, s)
		})
	}
}

// TestRedisHangs points the store at a server that accepts connections and
// never answers. With ContextTimeoutEnabled every call ends at its deadline
// with an error wrapping context.DeadlineExceeded.
func TestRedisHangs(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); _ = l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				<-done // hold the connection open, read nothing, answer nothing
				_ = conn.Close()
			}()
		}
	}()
	c := goredis.NewClient(&goredis.Options{Addr: l.Addr().String(), ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	s, err := wxredis.New(c)
	if err != nil {
		t.Fatal(err)
	}
	wantAllFail(t, s, context.DeadlineExceeded)
}

// TestScriptFlush checks that every script still runs after SCRIPT FLUSH
// empties the server's script cache (EVALSHA fails with NOSCRIPT and the
// store falls back to EVAL).
func TestScriptFlush(t *testing.T) {
	srv := redistest.StartServer(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	s, err := wxredis.New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	wantAllWork(t, s)
	for round := range 2 {
		if err := c.ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Revoke(ctx, "u", "t"); err != nil {
			t.Fatal(err)
		}
		n, err := s.AddOneTime(ctx, "u", "t", 2, 0)
		if err != nil || n != 2 {
			t.Fatalf("round %d: AddOneTime after SCRIPT FLUSH = %d, %v; want 2, nil", round, n, err)
		}
		r, err := s.Consume(ctx, "u", "t")
		if err != nil || r.Kind != store.OneTime {
			t.Fatalf("round %d: Consume after SCRIPT FLUSH = %+v, %v", round, r, err)
		}
		for _, tc := range everyCall(s) {
			if err := tc.call(ctx); err != nil {
				t.Errorf("round %d: %s after SCRIPT FLUSH: %v", round, tc.name, err)
			}
		}
	}
}
