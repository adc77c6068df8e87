package redis_test

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/store"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// lossyProxy forwards TCP connections to a Redis and can lose a reply: the
// command reaches Redis and runs, then the proxy drops the answer and cuts
// the connection, as when the network fails or a Redis proxy dies between
// the two. The client cannot tell whether its command ran.
type lossyProxy struct {
	l        net.Listener
	upstream string
	// lose is how many of the next replies (reads from Redis) to drop.
	lose atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func startLossyProxy(t *testing.T, upstream string) *lossyProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &lossyProxy{l: l, upstream: upstream}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *lossyProxy) Addr() string { return p.l.Addr().String() }

// loseNext makes the proxy drop the next reply.
func (p *lossyProxy) loseNext() { p.lose.Store(1) }

func (p *lossyProxy) accept() {
	for {
		client, err := p.l.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.upstream)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		cut := func() { _ = client.Close(); _ = server.Close() }
		p.wg.Go(func() {
			_, _ = io.Copy(server, client)
			cut()
		})
		p.wg.Go(func() {
			defer cut()
			buf := make([]byte, 32<<10)
			for {
				n, err := server.Read(buf)
				if n > 0 {
					if p.takeLoss() {
						return // the reply is lost with the connection
					}
					if _, werr := client.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		})
	}
}

// takeLoss reports whether the reply just read is to be dropped.
func (p *lossyProxy) takeLoss() bool {
	for {
		n := p.lose.Load()
		if n <= 0 {
			return false
		}
		if p.lose.CompareAndSwap(n, n-1) {
			return true
		}
	}
}

func (p *lossyProxy) close() {
	_ = p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// lostReplyStore returns a store whose client reaches a private Redis
// through a lossy proxy, with one connection and no retries of its own, so
// that a lost reply reaches the caller as an error, and the proxy.
func lostReplyStore(t *testing.T) (*wxredis.Store, *lossyProxy) {
	t.Helper()
	srv := redistest.StartServer(t)
	p := startLossyProxy(t, srv.Addr())
	c := goredis.NewClient(&goredis.Options{Addr: p.Addr(), MaxRetries: -1, PoolSize: 1})
	t.Cleanup(func() { _ = c.Close() })
	s, err := wxredis.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return s, p
}

// TestLostReplies checks that ConsumeOnce and Settle(Refunded) whose
// replies were lost, called again with the same operation key, return the
// outcome of the call that ran, and that the count moved exactly once.
func TestLostReplies(t *testing.T) {
	s, p := lostReplyStore(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	remaining := func(want int64) {
		t.Helper()
		g, err := s.Get(ctx, "u", "t")
		if err != nil {
			t.Fatal(err)
		}
		if g.Remaining != want {
			t.Fatalf("Remaining = %d, want %d", g.Remaining, want)
		}
	}
	if _, err := s.AddOneTime(ctx, "u", "t", 3, 0); err != nil {
		t.Fatal(err)
	}
	// Load both scripts first, so that the reply lost below is the
	// script's own and not a NOSCRIPT that go-redis answers with EVAL.
	warm, _, err := s.ConsumeOnce(ctx, "warm-up", time.Minute, "u", "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Settle(ctx, warm, store.Kept); err != nil {
		t.Fatal(err)
	}
	remaining(2)

	// ConsumeOnce runs, its reply is lost.
	p.loseNext()
	if r, _, err := s.ConsumeOnce(ctx, "send-1", time.Minute, "u", "t"); err == nil {
		t.Fatalf("ConsumeOnce succeeded (%+v) though its reply was lost", r)
	} else if errors.Is(err, store.ErrNoGrant) || errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("ConsumeOnce with its reply lost: %v, want a connection error", err)
	}
	remaining(1) // it ran
	r, st, err := s.ConsumeOnce(ctx, "send-1", time.Minute, "u", "t")
	if err != nil {
		t.Fatalf("ConsumeOnce again after the lost reply: %v", err)
	}
	if r.Op != "send-1" || r.Kind != store.OneTime || r.Generation != warm.Generation || st != store.Unsettled {
		t.Fatalf("ConsumeOnce again = %+v, %v; want the receipt of the lost call, unsettled", r, st)
	}
	remaining(1) // and it ran once
	if got, _, err := s.LookupReceipt(ctx, "u", "send-1"); err != nil || got != r {
		t.Fatalf("LookupReceipt = %+v, %v; want %+v", got, err, r)
	}

	// Settle(Refunded) runs, its reply is lost.
	p.loseNext()
	if st, err := s.Settle(ctx, r, store.Refunded); err == nil {
		t.Fatalf("Settle succeeded (%v) though its reply was lost", st)
	} else if errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Settle with its reply lost: %v, want a connection error", err)
	}
	remaining(2) // it ran
	if st, err := s.Settle(ctx, r, store.Refunded); err != nil || st != store.Refunded {
		t.Fatalf("Settle again after the lost reply = %v, %v; want refunded", st, err)
	}
	remaining(2) // and gave back one grant, not two
	if st, err := s.Settle(ctx, r, store.Kept); err != nil || st != store.Refunded {
		t.Fatalf("Settle(Kept) after the refund = %v, %v; want refunded", st, err)
	}
	remaining(2)
}

// TestLostReplyClientRetry is TestLostReplies with go-redis's own retries
// (MaxRetries at its default): go-redis sends the script again on a fresh
// connection, which is safe for ConsumeOnce and Settle because the second
// run finds the operation record.
func TestLostReplyClientRetry(t *testing.T) {
	srv := redistest.StartServer(t)
	p := startLossyProxy(t, srv.Addr())
	c := goredis.NewClient(&goredis.Options{Addr: p.Addr(), PoolSize: 1})
	t.Cleanup(func() { _ = c.Close() })
	s, err := wxredis.New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := s.AddOneTime(ctx, "u", "t", 2, 0); err != nil {
		t.Fatal(err)
	}
	warm, _, err := s.ConsumeOnce(ctx, "warm-up", time.Minute, "u", "t")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Settle(ctx, warm, store.Refunded); err != nil {
		t.Fatal(err)
	}
	p.loseNext()
	r, st, err := s.ConsumeOnce(ctx, "send-1", time.Minute, "u", "t")
	if err != nil || st != store.Unsettled || r.Op != "send-1" {
		t.Fatalf("ConsumeOnce through a retried lost reply = %+v, %v, %v", r, st, err)
	}
	if p.lose.Load() != 0 {
		t.Fatal("no reply was lost: the test exercised nothing")
	}
	if g, err := s.Get(ctx, "u", "t"); err != nil || g.Remaining != 1 {
		t.Fatalf("after ConsumeOnce: %+v, %v; want Remaining 1", g, err)
	}
	p.loseNext()
	if st, err := s.Settle(ctx, r, store.Refunded); err != nil || st != store.Refunded {
		t.Fatalf("Settle through a retried lost reply = %v, %v; want refunded", st, err)
	}
	if g, err := s.Get(ctx, "u", "t"); err != nil || g.Remaining != 2 {
		t.Fatalf("after Settle: %+v, %v; want Remaining 2", g, err)
	}
}
