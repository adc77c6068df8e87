package sender_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptrace"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

func TestSendSubscribe(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv)
	m := message("o-user", "T1")
	id, err := c.SendSubscribe(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	if id != "1864323726461255680" {
		t.Fatalf("msgid = %q, want the fake's first (beyond 2^53)", id)
	}
	want := sendertest.Send{
		ToUser: m.ToUser, TemplateID: m.TemplateID, Page: m.Page, Data: m.Data,
		MiniProgramState: m.MiniProgramState, Lang: m.Lang, MsgID: id,
	}
	got := srv.Sends()
	if len(got) == 1 {
		if got[0].At.IsZero() {
			t.Fatal("the recorded send has no time")
		}
		want.At = got[0].At
	}
	if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Fatalf("recorded sends = %+v, want [%+v]", got, want)
	}
}

func TestSendSubscribeTruncates(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, sender.WithTruncate(true))
	m := sender.SubscribeMessage{ToUser: "u", TemplateID: "T", Data: map[string]string{"thing1": strings.Repeat("长", 30)}}
	if _, err := c.SendSubscribe(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.Sends()[0].Data["thing1"], strings.Repeat("长", 19)+"…"; got != want {
		t.Fatalf("sent %q, want %q", got, want)
	}
	if m.Data["thing1"] != strings.Repeat("长", 30) {
		t.Fatal("the caller's data was modified")
	}
}

// Invalid messages fail before any network call and leave the grant alone.
func TestValidationBeforeNetwork(t *testing.T) {
	srv := newServer(t)
	grants := memory.New()
	c := newClient(t, srv, sender.WithGrantStore(grants))
	ctx := t.Context()
	if _, err := grants.AddOneTime(ctx, "u", "T", 1, 0); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 21)
	for _, tc := range []struct {
		name    string
		edit    func(m *sender.SubscribeMessage)
		want    error
		keyword string
	}{
		{"no user", func(m *sender.SubscribeMessage) { m.ToUser = "" }, sender.ErrInvalidMessage, ""},
		{"no template", func(m *sender.SubscribeMessage) { m.TemplateID = "" }, sender.ErrInvalidMessage, ""},
		{"bad state", func(m *sender.SubscribeMessage) { m.MiniProgramState = "release" }, sender.ErrInvalidMessage, ""},
		{"bad lang", func(m *sender.SubscribeMessage) { m.Lang = "fr_FR" }, sender.ErrInvalidMessage, ""},
		{"long thing", func(m *sender.SubscribeMessage) { m.Data["thing1"] = long }, sender.ErrInvalidData, "thing1"},
		{"bad time", func(m *sender.SubscribeMessage) { m.Data["time3"] = "25:00" }, sender.ErrInvalidData, "time3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := message("u", "T")
			tc.edit(&m)
			_, err := c.SendSubscribe(ctx, m)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			var de *sender.DataError
			if tc.keyword != "" && (!errors.As(err, &de) || de.Keyword != tc.keyword) {
				t.Fatalf("error = %v, want a DataError for %s", err, tc.keyword)
			}
		})
	}
	if srv.TokenFetches() != 0 || srv.SendRequests() != 0 {
		t.Fatalf("network used: %d token fetches, %d sends", srv.TokenFetches(), srv.SendRequests())
	}
	if g, _ := grants.Get(ctx, "u", "T"); g.Remaining != 1 {
		t.Fatalf("grant remaining = %d, want 1", g.Remaining)
	}
}

func TestConcurrentSendsRespectGrants(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			srv := newServer(t)
			grants := kind.open(t)
			c := newClient(t, srv, sender.WithGrantStore(grants))
			ctx := t.Context()
			if _, err := grants.AddOneTime(ctx, "o-user", "T1", 100, 0); err != nil {
				t.Fatal(err)
			}
			var ok, noGrant, other atomic.Int64
			var wg sync.WaitGroup
			for range 1000 {
				wg.Go(func() {
					_, err := c.SendSubscribe(ctx, message("o-user", "T1"))
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, sender.ErrNoGrant):
						noGrant.Add(1)
					default:
						other.Add(1)
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 100 || noGrant.Load() != 900 || other.Load() != 0 {
				t.Fatalf("ok %d, no grant %d, other %d; want 100, 900, 0", ok.Load(), noGrant.Load(), other.Load())
			}
			if got := srv.SendRequests(); got != 100 {
				t.Fatalf("sends reaching WeChat = %d, want 100", got)
			}
			if g, _ := grants.Get(ctx, "o-user", "T1"); g.Remaining != 0 {
				t.Fatalf("remaining = %d, want 0", g.Remaining)
			}
		})
	}
}

// refusedURL is the base URL of a port nothing listens on.
func refusedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// countingDials returns an HTTP client that counts its dials.
func countingDials(n *atomic.Int64) *http.Client {
	d := &net.Dialer{Timeout: time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			n.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// grantCase is a case of TestGrantOutcomes.
type grantCase struct {
	name     string
	replies  []sendertest.Reply // scripted, one per attempt
	timeout  time.Duration
	refused  bool // WeChat unreachable
	longTerm bool
	want     error // nil: success
	code     int   // the *APIError code, when there is one
	state    int
	requests int // sends that reached the fake
	accepted int // sends the fake delivered
}

// Each failure class ends with the grant in the right state.
func TestGrantOutcomes(t *testing.T) {
	const (
		consumed = iota
		refunded
		revoked
	)
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			for _, tc := range []grantCase{
				{name: "delivered", state: consumed, requests: 1, accepted: 1},
				{name: "busy then delivered", replies: []sendertest.Reply{{ErrCode: -1}},
					state: consumed, requests: 2, accepted: 1},
				{name: "user refused", replies: []sendertest.Reply{{ErrCode: 43101}},
					want: sender.ErrUserRefused, code: 43101, state: revoked, requests: 1},
				{name: "busy on every attempt", replies: []sendertest.Reply{{ErrCode: -1}, {ErrCode: -1}, {ErrCode: -1}},
					want: sender.ErrBusy, code: -1, state: refunded, requests: 3},
				{name: "bad openid", replies: []sendertest.Reply{{ErrCode: 40003}},
					code: 40003, state: refunded, requests: 1},
				{name: "bad template", replies: []sendertest.Reply{{ErrCode: 40037}},
					code: 40037, state: refunded, requests: 1},
				{name: "bad data", replies: []sendertest.Reply{{ErrCode: 47003}},
					want: sender.ErrInvalidData, code: 47003, state: refunded, requests: 1},
				{name: "bad page", replies: []sendertest.Reply{{ErrCode: 41030}},
					code: 41030, state: refunded, requests: 1},
				{name: "quota", replies: []sendertest.Reply{{ErrCode: 45009}},
					want: sender.ErrRateLimited, code: 45009, state: refunded, requests: 1},
				{name: "HTTP 502", replies: []sendertest.Reply{{Status: 502}},
					want: sender.ErrDeliveryUnknown, state: refunded, requests: 1},
				{name: "dropped before body", replies: []sendertest.Reply{{Drop: sendertest.DropBeforeBody}},
					want: sender.ErrDeliveryUnknown, state: refunded, requests: 1},
				{name: "dropped after delivery", replies: []sendertest.Reply{{Drop: sendertest.DropAfterBody}},
					want: sender.ErrDeliveryUnknown, state: refunded, requests: 1, accepted: 1},
				{name: "timeout after write", replies: []sendertest.Reply{{Delay: time.Minute}}, timeout: 100 * time.Millisecond,
					want: sender.ErrDeliveryUnknown, state: refunded, requests: 1, accepted: 1},
				{name: "unreachable", refused: true, state: refunded},
				{name: "long-term kept on failure", longTerm: true, replies: []sendertest.Reply{{ErrCode: 40003}},
					code: 40003, state: consumed, requests: 1},
			} {
				t.Run(tc.name, func(t *testing.T) {
					// A deadline (tc.timeout) is to pass while the fake
					// holds the request. On a loaded machine it can pass
					// before the request got there, which proves nothing:
					// that round is run again with a deadline ten times
					// as long (three rounds at most).
					for round, timeout := 0, tc.timeout; ; round, timeout = round+1, 10*timeout {
						if !grantOutcome(t, kind.open, tc, timeout, round < 2) {
							return
						}
						t.Logf("the %v deadline passed before the send reached the fake WeChat; again with a longer one", timeout)
					}
				})
			}
		})
	}
}

// grantOutcome is one round of a TestGrantOutcomes case with the given
// deadline. It reports true, checking nothing more, when mayBeLate is set
// and the deadline passed before the fake WeChat had the request.
func grantOutcome(t *testing.T, open func(t *testing.T) sharedStore, tc grantCase, timeout time.Duration, mayBeLate bool) (late bool) {
	srv := newServer(t)
	grants := open(t)
	var dials atomic.Int64
	opts := []sender.Option{sender.WithGrantStore(grants)}
	if tc.refused {
		// Fetch the token first, then make WeChat unreachable.
		tok := newClient(t, srv).TokenSource()
		opts = append(opts, sender.WithBaseURL(refusedURL(t)), sender.WithHTTPClient(countingDials(&dials)))
		c, err := sender.New(srv.AppID, "", append(opts, sender.WithTokenSource(tok), sender.WithRetry(fastRetry))...)
		if err != nil {
			t.Fatal(err)
		}
		checkOutcome(t, c, grants, tc.timeout, tc.longTerm, func(err error) {
			if err == nil || errors.Is(err, sender.ErrDeliveryUnknown) {
				t.Fatalf("error = %v, want a plain network error", err)
			}
			if got := dials.Load(); got != int64(fastRetry.MaxAttempts) {
				t.Fatalf("dials = %d, want %d (one per attempt)", got, fastRetry.MaxAttempts)
			}
		}, tc.state)
		return
	}
	for _, r := range tc.replies {
		srv.OnSend(sendertest.Rule{ToUser: "o-user", Times: 1, Reply: r})
	}
	c := newClient(t, srv, opts...)
	checkOutcome(t, c, grants, timeout, tc.longTerm, func(err error) {
		if timeout > 0 && mayBeLate && srv.SendCount() == 0 {
			late = true
			return
		}
		switch {
		case tc.want == nil && tc.code == 0 && err != nil:
			t.Fatalf("error = %v, want none", err)
		case tc.want != nil && !errors.Is(err, tc.want):
			t.Fatalf("error = %v, want %v", err, tc.want)
		}
		var ae *sender.APIError
		if tc.code != 0 && (!errors.As(err, &ae) || ae.Code != tc.code) {
			t.Fatalf("error = %v, want errcode %d", err, tc.code)
		}
		if timeout > 0 && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want it to wrap context.DeadlineExceeded", err)
		}
		if got := srv.SendRequests(); got != tc.requests {
			t.Fatalf("requests = %d, want %d", got, tc.requests)
		}
		if got := srv.SendCount(); got != tc.accepted {
			t.Fatalf("delivered = %d, want %d", got, tc.accepted)
		}
	}, tc.state)
	return late
}

// checkOutcome grants, sends once, checks the error, then the grant.
func checkOutcome(t *testing.T, c *sender.Client, grants store.GrantStore, timeout time.Duration, longTerm bool, checkErr func(error), state int) {
	t.Helper()
	ctx := t.Context()
	var err error
	if longTerm {
		err = grants.SetLongTerm(ctx, "o-user", "T1", 0)
	} else {
		_, err = grants.AddOneTime(ctx, "o-user", "T1", 2, 0)
	}
	if err != nil {
		t.Fatal(err)
	}
	sctx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	_, err = c.SendSubscribe(sctx, message("o-user", "T1"))
	checkErr(err)
	g, gerr := grants.Get(ctx, "o-user", "T1")
	if gerr != nil {
		t.Fatal(gerr)
	}
	var want store.Grant
	switch {
	case longTerm:
		want = store.Grant{LongTerm: true}
	case state == 0: // consumed
		want = store.Grant{Remaining: 1}
	case state == 1: // refunded
		want = store.Grant{Remaining: 2}
	case state == 2: // revoked
		want = store.Grant{}
	}
	if g.Remaining != want.Remaining || g.LongTerm != want.LongTerm {
		t.Fatalf("grant = remaining %d, long-term %v; want %d, %v", g.Remaining, g.LongTerm, want.Remaining, want.LongTerm)
	}
}

func TestNoGrantMakesNoCall(t *testing.T) {
	srv := newServer(t)
	c := newClient(t, srv, sender.WithGrantStore(memory.New()))
	_, err := c.SendSubscribe(t.Context(), message("nobody", "T1"))
	if !errors.Is(err, sender.ErrNoGrant) || !errors.Is(err, store.ErrNoGrant) {
		t.Fatalf("error = %v, want ErrNoGrant", err)
	}
	if srv.SendRequests() != 0 || srv.TokenFetches() != 0 {
		t.Fatal("WeChat was called without a grant")
	}
}

func TestCancellation(t *testing.T) {
	ctx := t.Context()
	t.Run("cancelled before", func(t *testing.T) {
		srv := newServer(t)
		grants := memory.New()
		c := newClient(t, srv, sender.WithGrantStore(grants))
		grants.AddOneTime(ctx, "u", "T", 1, 0)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.SendSubscribe(cctx, message("u", "T")); !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
		if g, _ := grants.Get(ctx, "u", "T"); g.Remaining != 1 || srv.SendRequests() != 0 {
			t.Fatalf("remaining %d, requests %d; want 1, 0", g.Remaining, srv.SendRequests())
		}
	})
	t.Run("cancelled while WeChat answers", func(t *testing.T) {
		srv := newServer(t)
		grants := memory.New()
		c := newClient(t, srv, sender.WithGrantStore(grants))
		grants.AddOneTime(ctx, "u", "T", 1, 0)
		srv.OnSend(sendertest.Rule{Reply: sendertest.Reply{Delay: time.Minute}})
		cctx, cancel := context.WithCancel(ctx)
		// Cancel once WeChat holds the request, however long it took to
		// get there.
		var cancelled atomic.Int64
		go func() {
			for deadline := time.Now().Add(10 * time.Second); srv.SendCount() == 0 && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			cancelled.Store(time.Now().UnixNano())
			cancel()
		}()
		_, err := c.SendSubscribe(cctx, message("u", "T"))
		returned := time.Now()
		if !errors.Is(err, context.Canceled) || !errors.Is(err, sender.ErrDeliveryUnknown) {
			t.Fatalf("error = %v, want Canceled and ErrDeliveryUnknown", err)
		}
		if d := returned.Sub(time.Unix(0, cancelled.Load())); d > 3*time.Second {
			t.Fatalf("returned %v after the cancel", d)
		}
		// The refund ran although the caller's context was cancelled.
		if g, _ := grants.Get(ctx, "u", "T"); g.Remaining != 1 {
			t.Fatalf("remaining = %d, want 1 (refunded)", g.Remaining)
		}
	})
	t.Run("deadline during backoff", func(t *testing.T) {
		// The deadline is to pass in the backoff after the first (busy)
		// answer. On a loaded machine it can pass before that answer,
		// which proves nothing: that round is run again with a deadline
		// ten times as long, still far inside the backoff.
		for _, timeout := range []time.Duration{100 * time.Millisecond, time.Second, 10 * time.Second} {
			srv := newServer(t)
			grants := memory.New()
			c := newClient(t, srv, sender.WithGrantStore(grants),
				sender.WithRetry(sender.RetryPolicy{MaxAttempts: 5, BaseDelay: time.Minute, MaxDelay: time.Minute}))
			grants.AddOneTime(ctx, "u", "T", 1, 0)
			srv.OnSend(sendertest.Rule{Reply: sendertest.Reply{ErrCode: -1}})
			dctx, cancel := context.WithTimeout(ctx, timeout)
			start := time.Now()
			_, err := c.SendSubscribe(dctx, message("u", "T"))
			took := time.Since(start)
			cancel()
			if !errors.Is(err, sender.ErrBusy) && timeout < 10*time.Second {
				t.Logf("the %v deadline passed before WeChat's first answer; again with a longer one", timeout)
				continue
			}
			if !errors.Is(err, sender.ErrBusy) || !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error = %v, want ErrBusy and DeadlineExceeded", err)
			}
			if took > timeout+2*time.Second {
				t.Fatalf("returned after %v, want about %v (the deadline, not the backoff)", took, timeout)
			}
			if srv.SendRequests() != 1 {
				t.Fatalf("requests = %d, want 1", srv.SendRequests())
			}
			if g, _ := grants.Get(ctx, "u", "T"); g.Remaining != 1 {
				t.Fatalf("remaining = %d, want 1 (refunded)", g.Remaining)
			}
			return
		}
	})
	t.Run("deadline while another instance holds the lease", func(t *testing.T) {
		srv := newServer(t)
		shared := memory.New()
		if _, err := shared.AcquireLease(ctx, srv.AppID, time.Minute); err != nil {
			t.Fatal(err)
		}
		c := newClient(t, srv, sender.WithTokenStore(shared))
		dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		if _, err := c.SendSubscribe(dctx, message("u", "T")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("returned after %v", d)
		}
		if srv.TokenFetches() != 0 {
			t.Fatal("fetched although another instance holds the lease")
		}
	})
}

func TestWaitsForLeaseHolder(t *testing.T) {
	ctx := t.Context()
	srv := newServer(t)
	shared := memory.New()
	// Another instance holds the lease and stores the token it fetched.
	lease, err := shared.AcquireLease(ctx, srv.AppID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	other := newClient(t, srv)
	tok, err := other.TokenSource().Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(150*time.Millisecond, func() {
		shared.SetToken(context.Background(), srv.AppID, tok)
		shared.ReleaseLease(context.Background(), lease)
	})
	c := newClient(t, srv, sender.WithTokenStore(shared))
	if _, err := c.SendSubscribe(ctx, message("u", "T")); err != nil {
		t.Fatal(err)
	}
	if got := srv.TokenFetches(); got != 1 {
		t.Fatalf("token fetches = %d, want 1 (the other instance's)", got)
	}

	// A holder that dies without storing a token: its lease lapses and
	// this instance takes over.
	srv2 := newServer(t)
	shared2 := memory.New()
	if _, err := shared2.AcquireLease(ctx, srv2.AppID, 200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	c2 := newClient(t, srv2, sender.WithTokenStore(shared2))
	if _, err := c2.SendSubscribe(ctx, message("u", "T")); err != nil {
		t.Fatal(err)
	}
	if got := srv2.TokenFetches(); got != 1 {
		t.Fatalf("token fetches after the lease lapsed = %d, want 1", got)
	}
}

func TestRetriesBounded(t *testing.T) {
	for _, attempts := range []int{1, 2, 5} {
		srv := newServer(t)
		srv.OnSend(sendertest.Rule{Reply: sendertest.Reply{ErrCode: -1}})
		c := newClient(t, srv, sender.WithRetry(sender.RetryPolicy{MaxAttempts: attempts, MaxDelay: time.Millisecond}))
		_, err := c.SendSubscribe(t.Context(), message("u", "T"))
		if !errors.Is(err, sender.ErrBusy) {
			t.Fatalf("attempts %d: error = %v, want ErrBusy", attempts, err)
		}
		if got := srv.SendRequests(); got != attempts {
			t.Fatalf("attempts %d: requests = %d", attempts, got)
		}
	}
}

func TestNoGoroutineLeak(t *testing.T) {
	srv := newServer(t)
	grants := memory.New()
	c := newClient(t, srv, sender.WithGrantStore(grants))
	ctx := t.Context()
	grants.AddOneTime(ctx, "u", "T", 1000, 0)
	base := runtime.NumGoroutine()

	srv.OnSend(sendertest.Rule{Times: 5, Reply: sendertest.Reply{Drop: sendertest.DropAfterBody}})
	srv.OnSend(sendertest.Rule{Times: 5, Reply: sendertest.Reply{Delay: time.Second}})
	srv.OnSend(sendertest.Rule{Times: 5, Reply: sendertest.Reply{ErrCode: -1}})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			sctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			c.SendSubscribe(sctx, message("u", "T"))
		})
	}
	wg.Wait()
	c.CloseIdleConnections()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d, was %d\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// fixedSource hands out one token and ignores rejections.
type fixedSource struct{}

func (fixedSource) Token(context.Context) (store.Token, error) {
	return store.Token{AccessToken: "fixed", ExpiresAt: time.Now().Add(time.Hour)}, nil
}

func (fixedSource) Invalidate(context.Context, string) error { return nil }

// tracingTransport reports httptrace events the way a transport does and
// fails every request without contacting anyone.
type tracingTransport struct {
	// late makes RoundTrip return on a deadline after writing the headers,
	// while the request body is reported written only afterwards, as
	// HTTP/2 does when its deadline fires during the write. Otherwise the
	// write is reported failed before RoundTrip returns.
	late     bool
	attempts atomic.Int32
	wg       sync.WaitGroup
}

func (tt *tracingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tt.attempts.Add(1)
	tr := httptrace.ContextClientTrace(r.Context())
	if tr.GetConn != nil {
		tr.GetConn(r.URL.Host)
	}
	if tr.WroteHeaders != nil {
		tr.WroteHeaders()
	}
	if !tt.late {
		tr.WroteRequest(httptrace.WroteRequestInfo{Err: errors.New("broken pipe")})
		return nil, errors.New("broken pipe")
	}
	tt.wg.Go(func() {
		time.Sleep(10 * time.Millisecond)
		tr.WroteRequest(httptrace.WroteRequestInfo{})
	})
	return nil, context.DeadlineExceeded
}

// A request whose headers went out may have reached WeChat unless the
// transport says its write failed, even when RoundTrip returns before the
// transport's verdict on the body: such a send is not repeated.
func TestTransportVerdicts(t *testing.T) {
	for _, kind := range storeKinds {
		for _, tc := range []struct {
			name     string
			late     bool
			attempts int32
			unknown  bool
		}{
			{"write failed: repeated", false, int32(fastRetry.MaxAttempts), false},
			{"returned before the write finished: not repeated", true, 1, true},
		} {
			t.Run(kind.name+"/"+tc.name, func(t *testing.T) {
				tt := &tracingTransport{late: tc.late}
				grants := kind.open(t)
				c, err := sender.New("wx1", "", sender.WithTokenSource(fixedSource{}), sender.WithGrantStore(grants),
					sender.WithHTTPClient(&http.Client{Transport: tt}), sender.WithRetry(fastRetry))
				if err != nil {
					t.Fatal(err)
				}
				checkOutcome(t, c, grants, 0, false, func(err error) {
					if err == nil || errors.Is(err, sender.ErrDeliveryUnknown) != tc.unknown {
						t.Fatalf("error = %v, want ErrDeliveryUnknown %v", err, tc.unknown)
					}
				}, 1)
				tt.wg.Wait()
				if got := tt.attempts.Load(); got != tc.attempts {
					t.Fatalf("attempts = %d, want %d", got, tc.attempts)
				}
			})
		}
	}
}

// panickingSource panics, as a faulty custom TokenSource might.
type panickingSource struct{}

func (panickingSource) Token(context.Context) (store.Token, error) { panic("token service bug") }
func (panickingSource) Invalidate(context.Context, string) error   { return nil }

// A panic unwinding through a send refunds the grant instead of losing it.
func TestPanicRefundsGrant(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			grants := kind.open(t)
			c, err := sender.New("wx1", "", sender.WithTokenSource(panickingSource{}), sender.WithGrantStore(grants))
			if err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if _, err := grants.AddOneTime(ctx, "o-user", "T1", 2, 0); err != nil {
				t.Fatal(err)
			}
			func() {
				defer func() {
					if r := recover(); r != "token service bug" {
						t.Fatalf("recovered %v, want the source's panic", r)
					}
				}()
				c.SendSubscribe(ctx, message("o-user", "T1"))
			}()
			if g, err := grants.Get(ctx, "o-user", "T1"); err != nil || g.Remaining != 2 {
				t.Fatalf("grant = %+v, %v; want 2 remaining (refunded)", g, err)
			}
		})
	}
}
