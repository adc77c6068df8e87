package middleware

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// failFirstPopup returns a Mux whose popup hook fails on its first run and
// succeeds afterwards.
func failFirstPopup(t *testing.T) *handlers.Mux {
	t.Helper()
	mux := handlers.NewMux()
	var runs atomic.Int32
	mux.OnSubscribePopup(func(context.Context, *handlers.SubscribePopupEvent) error {
		if runs.Add(1) == 1 {
			return errors.New("transient")
		}
		return nil
	})
	return mux
}

func oneTimeRemaining(t *testing.T, g store.GrantStore, openID, tmpl string) int64 {
	t.Helper()
	got, err := g.Get(context.Background(), openID, tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return got.Remaining
}

// An override that turns push deduplication off must not turn off the
// grant claims: a retry after a failed hook books the grant once.
func TestEmptyDedupeKeyStillDedupesGrants(t *testing.T) {
	for _, key := range []func(*codec.Message) string{
		func(*codec.Message) string { return "" },
		func(*codec.Message) string { return "same-for-all" },
	} {
		grants := memory.New()
		e := newEndpoint(t, Config{Mux: failFirstPopup(t), Grants: grants, DedupeKey: key})
		body := popupXML(openID, now, [2]string{"T1", "accept"})
		checkResponse(t, "first delivery", e.Serve(context.Background(), plainPush(body)), 500, ReasonHookFailed)
		checkResponse(t, "retry", e.Serve(context.Background(), plainPush(body)), 200, Success)
		if n := oneTimeRemaining(t, grants, openID, "T1"); n != 1 {
			t.Errorf("key %q: one accept, one failure, one retry: %d grants, want 1", key(nil), n)
		}
	}
}

// A captured safe-mode push replayed within the replay window finds its
// dedupe record still there, whatever the window.
func TestReplayWithinWindowFindsDedupeRecord(t *testing.T) {
	grants := memory.New()
	e := newEndpoint(t, Config{
		EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe,
		Grants: grants, ReplayWindow: time.Hour,
	})
	if want := 2*time.Hour + e.dedupeLease; e.dedupeTTL != want {
		t.Errorf("DedupeTTL = %v, want 2×ReplayWindow + DedupeLease = %v", e.dedupeTTL, want)
	}
	push := seal(t, popupXML(openID, now, [2]string{"T1", "accept"}), now).request()
	checkResponse(t, "delivery", e.Serve(context.Background(), push), 200, Success)
	checkResponse(t, "replay", e.Serve(context.Background(), push), 200, Success)
	if n := oneTimeRemaining(t, grants, openID, "T1"); n != 1 {
		t.Errorf("one accept, replayed once: %d grants, want 1", n)
	}
}

func TestDedupeTTLMustOutliveReplayWindow(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantTTL time.Duration // 0: New fails naming DedupeTTL
	}{
		{"short ttl, long window", Config{ReplayWindow: time.Hour, DedupeTTL: 200 * time.Millisecond}, 0},
		{"short ttl, default window", Config{DedupeTTL: time.Minute}, 0},
		{"default ttl, default window", Config{}, 2*DefaultReplayWindow + DefaultHookTimeout + 2*time.Second},
		{"default ttl, short window", Config{ReplayWindow: time.Minute}, DefaultDedupeTTL},
		{"default ttl, long window", Config{ReplayWindow: 10 * time.Minute, DedupeLease: time.Second}, 20*time.Minute + time.Second},
		{"ttl just long enough", Config{ReplayWindow: time.Minute, DedupeLease: time.Second, DedupeTTL: 121 * time.Second}, 121 * time.Second},
		{"no replay check, short ttl", Config{ReplayWindow: NoReplayCheck, DedupeTTL: time.Second}, time.Second},
		{"no replay check, default ttl", Config{ReplayWindow: NoReplayCheck}, DefaultDedupeTTL},
	}
	for _, tt := range tests {
		tt.cfg.Token = token
		e, err := New(tt.cfg)
		if tt.wantTTL == 0 {
			if e != nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "DedupeTTL") {
				t.Errorf("%s: New = %v, %v; want an ErrConfig naming DedupeTTL", tt.name, e, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: New: %v", tt.name, err)
			continue
		}
		if e.dedupeTTL != tt.wantTTL {
			t.Errorf("%s: DedupeTTL = %v, want %v", tt.name, e.dedupeTTL, tt.wantTTL)
		}
		mustOK(t, e.Close(context.Background()))
	}
}

// Two popups of one user in one second, for different templates, are two
// pushes: both grants are booked.
func TestSameSecondPopupsBothGrant(t *testing.T) {
	grants := memory.New()
	e := newEndpoint(t, Config{Grants: grants})
	a := popupXML(openID, now, [2]string{"T1", "accept"})
	b := popupXML(openID, now, [2]string{"T2", "accept"})
	checkResponse(t, "push A", e.Serve(context.Background(), plainPush(a)), 200, Success)
	checkResponse(t, "push B", e.Serve(context.Background(), plainPush(b)), 200, Success)
	checkResponse(t, "retry of A", e.Serve(context.Background(), plainPush(a)), 200, Success)
	for _, tmpl := range []string{"T1", "T2"} {
		if n := oneTimeRemaining(t, grants, openID, tmpl); n != 1 {
			t.Errorf("%s: %d grants, want 1", tmpl, n)
		}
	}
}

// Two failed sends reported in one second reach the hook twice; a retry
// of either does not.
func TestSameSecondSentEventsBothReachHook(t *testing.T) {
	mux := handlers.NewMux()
	var seen []string
	mux.OnSubscribeSent(func(_ context.Context, ev *handlers.SubscribeSentEvent) error {
		for _, it := range ev.Items {
			seen = append(seen, it.MsgID)
		}
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux})
	sent := func(msgID string) string {
		return `{"ToUserName":"` + ghID + `","FromUserName":"` + openID + `","CreateTime":1714112400,"MsgType":"event",` +
			`"Event":"subscribe_msg_sent_event","List":[{"TemplateId":"T1","MsgID":"` + msgID + `","ErrorCode":10005,"ErrorStatus":"system fail"}]}`
	}
	checkResponse(t, "sent 1", e.Serve(context.Background(), plainPush(sent("1001"))), 200, Success)
	checkResponse(t, "sent 2", e.Serve(context.Background(), plainPush(sent("1002"))), 200, Success)
	checkResponse(t, "retry of sent 1", e.Serve(context.Background(), plainPush(sent("1001"))), 200, Success)
	if got := strings.Join(seen, ","); got != "1001,1002" {
		t.Errorf("hook saw %s, want 1001,1002", got)
	}
}

// Nothing a hook sees in async mode points into Request.Body, which an
// adapter reuses once Serve returned.
func TestAsyncHookDoesNotAliasBody(t *testing.T) {
	for _, safe := range []bool{false, true} {
		mux := handlers.NewMux()
		got := make(chan string, 1)
		release := make(chan struct{})
		mux.OnText(func(_ context.Context, m *handlers.TextMessage) error {
			<-release
			f, _ := codec.Fields(m.Message)
			got <- m.Content + "|" + m.FromUserName + "|" + m.Message.Raw[:5] + "|" + f["Content"]
			return nil
		})
		cfg := Config{Mux: mux, Async: true}
		req := plainPush(textXML("42", "hello"))
		if safe {
			cfg.EncodingAESKey, cfg.AppID = aesKey, appID
			req = seal(t, textXML("42", "hello"), now).request()
		}
		e := newEndpoint(t, cfg)
		checkResponse(t, "async", e.Serve(context.Background(), req), 200, Success)
		for i := range req.Body {
			req.Body[i] = 'X'
		}
		close(release)
		if s, want := <-got, "hello|"+openID+"|<xml>|hello"; s != want {
			t.Errorf("safe=%v: hook saw %q, want %q", safe, s, want)
		}
	}
}

// A delivery whose claim outlived its lease (its hook ignored the context)
// must not drop the claim a later delivery took over when its hook
// finally returns. The leases run on a fake clock: d2's claim lasts until
// the test moves the clock, however long d1's runner takes.
func TestStaleDeliveryKeepsNewerClaim(t *testing.T) {
	mux := handlers.NewMux()
	var running, maxRunning atomic.Int32
	gates := []chan error{make(chan error), make(chan error), make(chan error)}
	var n atomic.Int32
	mux.OnText(func(context.Context, *handlers.TextMessage) error {
		i := n.Add(1) - 1
		r := running.Add(1)
		defer running.Add(-1)
		for {
			m := maxRunning.Load()
			if r <= m || maxRunning.CompareAndSwap(m, r) {
				break
			}
		}
		return <-gates[i] // ignores ctx
	})
	log, lb := newLogger()
	clk := newFakeLeaseClock()
	e := newEndpoint(t, Config{Mux: mux, HookTimeout: 50 * time.Millisecond, DedupeLease: 300 * time.Millisecond, Logger: log,
		Dedupe: newClockDedupe(clk)})
	useLeaseClock(e, clk)
	push := plainPush(textXML("77", "hi"))
	checkResponse(t, "d1", e.Serve(context.Background(), push), 500, ReasonHookTimeout)
	clk.Advance(320 * time.Millisecond) // d1's lease ran out
	checkResponse(t, "d2 takes over", e.Serve(context.Background(), push), 500, ReasonHookTimeout)
	gates[0] <- errors.New("d1 finally fails")
	// d1's runner records its outcome after the hook returned; wait for
	// its log line rather than guessing a delay.
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(lb.String(), "lease expired") && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	resp := e.Serve(context.Background(), push)
	close(gates[1])
	if resp.Status != 503 {
		close(gates[2])
	}
	checkResponse(t, "d3 while d2's hook runs", resp, 503, ReasonInFlight)
	if m := maxRunning.Load(); m != 2 {
		t.Errorf("max concurrent runs of one push: %d, want 2 (d1 past its lease, d2)", m)
	}
	if !strings.Contains(lb.String(), "lease expired") {
		t.Errorf("no log line for the stale outcome; log:\n%s", lb)
	}
}

// In safe mode (the default with a key) a push stripped of encrypt_type
// and msg_signature is refused, so no unsigned body books a grant; a
// correctly signed plaintext push is logged with a hint for the operator.
func TestSafeModeRefusesDowngrade(t *testing.T) {
	grants := memory.New()
	log, lb := newLogger()
	e := newEndpoint(t, Config{EncodingAESKey: aesKey, AppID: appID, Grants: grants, Logger: log})
	if e.Mode() != ModeSafe {
		t.Fatalf("zero Mode with a key = %v, want safe", e.Mode())
	}
	captured := seal(t, textXML("1", "hi"), now).query
	var kept []string
	for _, p := range strings.Split(captured, "&") {
		if !strings.HasPrefix(p, "encrypt_type=") && !strings.HasPrefix(p, "msg_signature=") {
			kept = append(kept, p)
		}
	}
	forged := popupXML("victim-openid", now, [2]string{"PAID_TEMPLATE", "accept"})
	checkResponse(t, "downgraded", e.Serve(context.Background(), post(strings.Join(kept, "&"), forged)), 400, ReasonPlaintextRefuse)
	if n := oneTimeRemaining(t, grants, "victim-openid", "PAID_TEMPLATE"); n != 0 {
		t.Errorf("an unsigned body booked %d grants", n)
	}
	if !strings.Contains(lb.String(), "level=WARN") || !strings.Contains(lb.String(), "Mode: ModeCompatible") {
		t.Errorf("no warning naming ModeCompatible; log:\n%s", lb)
	}
	// An unsigned plaintext push is refused alike, without the advice:
	// anyone can send one, so it gets only the rate-limited rejection line.
	before := strings.Count(lb.String(), "ModeCompatible")
	checkResponse(t, "unsigned", e.Serve(context.Background(), post("timestamp=1&nonce=2", forged)), 400, ReasonPlaintextRefuse)
	if after := strings.Count(lb.String(), "ModeCompatible"); after != before {
		t.Errorf("an unsigned push logged the ModeCompatible advice")
	}
	if !strings.Contains(lb.String(), `msg="wxsub: request rejected"`) {
		t.Errorf("the unsigned push's rejection was not logged; log:\n%s", lb)
	}
}

func TestEchostrMustBeToken(t *testing.T) {
	e := newEndpoint(t, Config{Now: clock(1714036504)})
	q := "signature=" + v1Signature + "&timestamp=" + v1Timestamp + "&nonce=" + v1Nonce + "&echostr="
	tests := []struct {
		echostr string
		status  int
		body    string
	}{
		{v1Echostr, 200, v1Echostr},
		{"abc_XYZ-09", 200, "abc_XYZ-09"},
		{strings.Repeat("9", 128), 200, strings.Repeat("9", 128)},
		{strings.Repeat("9", 129), 400, ReasonBadEchostr},
		{"%3Cscript%3E", 400, ReasonBadEchostr},
		{"a+b", 400, ReasonBadEchostr},
		{"a.b", 400, ReasonBadEchostr},
		{"%C3%A9", 400, ReasonBadEchostr},
		{"", 400, ReasonMissingEchostr},
	}
	for _, tt := range tests {
		resp := e.Serve(context.Background(), Request{Method: "GET", RawQuery: q + tt.echostr})
		checkResponse(t, tt.echostr, resp, tt.status, tt.body)
		if resp.ContentType != ContentTypeText {
			t.Errorf("%s: content type %q, want %q", tt.echostr, resp.ContentType, ContentTypeText)
		}
	}
}

func TestCallbackPanicsFailThePush(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"DedupeKey", Config{DedupeKey: func(*codec.Message) string { panic("boom") }}},
		{"LongTerm", Config{Grants: memory.New(), LongTerm: func(string) bool { panic("boom") }}},
	}
	for _, tt := range tests {
		log, lb := newLogger()
		tt.cfg.Logger = log
		e := newEndpoint(t, tt.cfg)
		resp := e.Serve(context.Background(), plainPush(popupXML(openID, now, [2]string{"T1", "accept"})))
		checkResponse(t, tt.name, resp, 500, ReasonHookFailed)
		if !strings.Contains(lb.String(), "Config."+tt.name+" panicked") || !strings.Contains(lb.String(), "boom") {
			t.Errorf("%s: no log line for the panic; log:\n%s", tt.name, lb)
		}
	}
}

func TestTooManyItemsRefused(t *testing.T) {
	items := func(n int) [][2]string {
		v := make([][2]string, n)
		for i := range v {
			v[i] = [2]string{"T", "reject"}
		}
		return v
	}
	log, lb := newLogger()
	e := newEndpoint(t, Config{Grants: memory.New(), Logger: log})
	checkResponse(t, "MaxItems", e.Serve(context.Background(), plainPush(popupXML(openID, now, items(MaxItems)...))), 200, Success)
	checkResponse(t, "MaxItems+1", e.Serve(context.Background(), plainPush(popupXML(openID, now+1, items(MaxItems+1)...))), 400, ReasonTooManyItems)
	s := seal(t, popupXML(openID, now+2, items(MaxItems+1)...), now)
	checkResponse(t, "safe MaxItems+1", newEndpoint(t, Config{EncodingAESKey: aesKey, AppID: appID}).Serve(context.Background(), s.request()),
		400, ReasonTooManyItems)
	if !strings.Contains(lb.String(), "too many subscription items") {
		t.Errorf("no log line; log:\n%s", lb)
	}
}

// TestItemOrderDoesNotBookTwice is the regression test of issue 11 item
// 2: the default key hashed the items in their order, so the same popup
// with its items in another order (validly signed, same user, same
// CreateTime) took both grants from 1 to 2.
func TestItemOrderDoesNotBookTwice(t *testing.T) {
	grants := memory.New()
	e := newEndpoint(t, Config{Grants: grants})
	a := popupXML(openID, now, [2]string{"T1", "accept"}, [2]string{"T2", "accept"})
	b := popupXML(openID, now, [2]string{"T2", "accept"}, [2]string{"T1", "accept"})
	checkResponse(t, "push", e.Serve(context.Background(), plainPush(a)), 200, Success)
	checkResponse(t, "the same push, items reordered", e.Serve(context.Background(), plainPush(b)), 200, Success)
	for _, tmpl := range []string{"T1", "T2"} {
		if n := oneTimeRemaining(t, grants, openID, tmpl); n != 1 {
			t.Errorf("%s: %d grants, want 1", tmpl, n)
		}
	}
	var ma, mb codec.Message
	mustOK(t, codec.Decode([]byte(a), &ma))
	mustOK(t, codec.Decode([]byte(b), &mb))
	if DefaultDedupeKey(&ma) != DefaultDedupeKey(&mb) {
		t.Errorf("reordered items change the key")
	}
	// Items that differ in any field still give another key.
	mb.Items[0].Status = codec.StatusReject
	if DefaultDedupeKey(&ma) == DefaultDedupeKey(&mb) {
		t.Errorf("items with another status share the key")
	}
}

// Two identical popups of one user in one second cannot be told from a
// retry (an event carries no id): the second is answered "success" and
// books nothing. DefaultDedupeKey's documentation says so; this pins it.
func TestIdenticalSameSecondPopupsShareKey(t *testing.T) {
	grants := memory.New()
	e := newEndpoint(t, Config{Grants: grants})
	a := popupXML(openID, now, [2]string{"T1", "accept"})
	checkResponse(t, "first popup", e.Serve(context.Background(), plainPush(a)), 200, Success)
	checkResponse(t, "identical second popup", e.Serve(context.Background(), plainPush(a)), 200, Success)
	if n := oneTimeRemaining(t, grants, openID, "T1"); n != 1 {
		t.Errorf("T1: %d grants, want 1 (the second popup is taken for a retry)", n)
	}
}
