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
)

func TestDefaultDedupeKey(t *testing.T) {
	popup := codec.Message{ToUserName: "gh_a", FromUserName: "oU", CreateTime: 1714112400, MsgType: "event",
		Event: "subscribe_msg_popup_event", Items: []codec.SubscribeItem{{TemplateID: "T1", Status: "accept"}}}
	tests := []struct {
		msg  codec.Message
		want string
	}{
		{codec.Message{ToUserName: "gh_a", FromUserName: "oU", CreateTime: 1714112400, MsgType: "text", MsgID: "1864323726461255680"},
			"m:4:gh_a:1864323726461255680"},
		{codec.Message{ToUserName: "a:b", MsgID: "1"}, "m:3:a:b:1"},
		{codec.Message{ToUserName: "a", MsgID: "b:1"}, "m:1:a:b:1"},
		{codec.Message{ToUserName: "gh_a", FromUserName: "oU", CreateTime: 1714112400, MsgType: "event", Event: "subscribe_msg_popup_event"},
			"e:72cc90a94db36b1695d3368187dcd4ba"},
		{popup, "e:d8f1e6100d758e8ec7e1c559094413ac"},
		{codec.Message{FromUserName: "oU", CreateTime: -5, MsgType: "event"}, "e:cf63c6e6a27d0607151dba52873934e3"},
		{codec.Message{ToUserName: "gh_a", MsgType: "event", Event: "x"}, ""},
		{codec.Message{}, ""},
	}
	for _, tt := range tests {
		if got := DefaultDedupeKey(&tt.msg); got != tt.want {
			t.Errorf("DefaultDedupeKey(%+v) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

// TestDefaultDedupeKeyDistinguishesPushes checks that pushes which differ
// in any keyed field, or only in where one field ends and the next
// begins, get different keys, and that equal pushes get equal keys.
func TestDefaultDedupeKeyDistinguishesPushes(t *testing.T) {
	ev := func(to, from string, ct int64, event string, items ...codec.SubscribeItem) codec.Message {
		return codec.Message{ToUserName: to, FromUserName: from, CreateTime: ct, MsgType: "event", Event: event, Items: items}
	}
	item := func(tmpl, status, msgID string, code int64) codec.SubscribeItem {
		return codec.SubscribeItem{TemplateID: tmpl, Status: status, MsgID: msgID, ErrorCode: code}
	}
	const popup, sent = "subscribe_msg_popup_event", "subscribe_msg_sent_event"
	pairs := []struct {
		name string
		a, b codec.Message
	}{
		{"field boundary", ev("a", "b", 1, "2:x"), ev("a", "b:1", 2, "x")},
		{"to/from boundary", ev("a:b", "c", 1, "x"), ev("a", "b:c", 1, "x")},
		{"same-second popups, other template", ev("gh", "oU", 1, popup, item("T1", "accept", "", 0)),
			ev("gh", "oU", 1, popup, item("T2", "accept", "", 0))},
		{"same template, other status", ev("gh", "oU", 1, popup, item("T1", "accept", "", 0)),
			ev("gh", "oU", 1, popup, item("T1", "reject", "", 0))},
		{"same-second sent events, other MsgID", ev("gh", "oU", 1, sent, item("T1", "", "1001", 10005)),
			ev("gh", "oU", 1, sent, item("T1", "", "1002", 10005))},
		{"other ErrorCode", ev("gh", "oU", 1, sent, item("T1", "", "1001", 0)),
			ev("gh", "oU", 1, sent, item("T1", "", "1001", 10005))},
		{"item boundary", ev("gh", "oU", 1, popup, item("T1", "acc", "", 0)),
			ev("gh", "oU", 1, popup, item("T1a", "cc", "", 0))},
		{"one item or two", ev("gh", "oU", 1, popup, item("T1", "accept", "", 0)),
			ev("gh", "oU", 1, popup, item("T1", "accept", "", 0), item("T1", "accept", "", 0))},
		{"other mini-program", ev("gh_a", "oU", 1, popup), ev("gh_b", "oU", 1, popup)},
	}
	for _, p := range pairs {
		ka, kb := DefaultDedupeKey(&p.a), DefaultDedupeKey(&p.b)
		if ka == kb {
			t.Errorf("%s: both keyed %q", p.name, ka)
		}
		a2 := p.a
		a2.Items = append([]codec.SubscribeItem(nil), p.a.Items...)
		// A retry carries the same content; PopupScene and ErrorStatus
		// are not part of the key.
		for i := range a2.Items {
			a2.Items[i].PopupScene, a2.Items[i].ErrorStatus = 1, "retry"
		}
		if k := DefaultDedupeKey(&a2); k != ka {
			t.Errorf("%s: a retry is keyed %q, the push %q", p.name, k, ka)
		}
	}
}

// counter counts hook runs; fail makes the first n runs fail.
type counter struct {
	runs atomic.Int32
	fail atomic.Int32
}

func (c *counter) hook(context.Context, *handlers.TextMessage) error {
	c.runs.Add(1)
	if c.fail.Add(-1) >= 0 {
		return errors.New("hook failure")
	}
	return nil
}

func TestDedupeRetries(t *testing.T) {
	var c counter
	c.fail.Store(1)
	mux := handlers.NewMux()
	mux.OnText(c.hook)
	e := newEndpoint(t, Config{Mux: mux})
	push := plainPush(textXML("42", "x"))
	steps := []struct {
		status int
		body   string
		runs   int32
	}{
		{500, ReasonHookFailed, 1}, // the hook fails: released
		{200, "success", 2},        // WeChat's retry runs it again
		{200, "success", 2},        // a later retry is answered without hooks
		{200, "success", 2},
	}
	for i, s := range steps {
		checkResponse(t, "step", e.Serve(context.Background(), push), s.status, s.body)
		if got := c.runs.Load(); got != s.runs {
			t.Errorf("step %d: hook ran %d times, want %d", i, got, s.runs)
		}
	}
	// Another message is not a duplicate.
	checkResponse(t, "other", e.Serve(context.Background(), plainPush(textXML("43", "x"))), 200, "success")
	if got := c.runs.Load(); got != 3 {
		t.Errorf("hook ran %d times, want 3", got)
	}
}

func TestDedupeInFlight(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	var runs atomic.Int32
	mux := handlers.NewMux()
	mux.OnText(func(context.Context, *handlers.TextMessage) error {
		if runs.Add(1) == 1 {
			close(started)
			<-release
		}
		return nil
	})
	e := newEndpoint(t, Config{Mux: mux})
	push := plainPush(textXML("42", "x"))
	first := make(chan Response)
	go func() { first <- e.Serve(context.Background(), push) }()
	<-started
	checkResponse(t, "while in flight", e.Serve(context.Background(), push), 503, ReasonInFlight)
	close(release)
	checkResponse(t, "first", <-first, 200, "success")
	checkResponse(t, "after", e.Serve(context.Background(), push), 200, "success")
	if got := runs.Load(); got != 1 {
		t.Errorf("hook ran %d times, want 1", got)
	}
}

func TestDedupeKeyOverride(t *testing.T) {
	tests := []struct {
		name string
		key  func(*codec.Message) string
		runs int32
	}{
		{"default", nil, 1},
		{"off", func(*codec.Message) string { return "" }, 3},
		{"by content", func(m *codec.Message) string { return "c:" + m.Content }, 1},
	}
	for _, tt := range tests {
		var c counter
		mux := handlers.NewMux()
		mux.OnText(c.hook)
		e := newEndpoint(t, Config{Mux: mux, DedupeKey: tt.key})
		for range 3 {
			checkResponse(t, tt.name, e.Serve(context.Background(), plainPush(textXML("42", "x"))), 200, "success")
		}
		if got := c.runs.Load(); got != tt.runs {
			t.Errorf("%s: hook ran %d times, want %d", tt.name, got, tt.runs)
		}
	}
}

// faultyDedupe wraps a DedupeStore and fails the methods named in fail.
type faultyDedupe struct {
	store.DedupeStore
	fail  string
	state store.DedupeState // returned by Begin when set
}

var errStore = errors.New("store unavailable")

func (f *faultyDedupe) Begin(ctx context.Context, key string, lease time.Duration) (store.DedupeState, error) {
	if strings.Contains(f.fail, "Begin") {
		return 0, errStore
	}
	if f.state != 0 {
		return f.state, nil
	}
	return f.DedupeStore.Begin(ctx, key, lease)
}

func (f *faultyDedupe) Done(ctx context.Context, key string, ttl time.Duration) error {
	if strings.Contains(f.fail, "Done") {
		return errStore
	}
	return f.DedupeStore.Done(ctx, key, ttl)
}

func (f *faultyDedupe) Abort(ctx context.Context, key string) error {
	if strings.Contains(f.fail, "Abort") {
		return errStore
	}
	return f.DedupeStore.Abort(ctx, key)
}
