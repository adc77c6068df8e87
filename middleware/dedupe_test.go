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
	tests := []struct {
		msg  codec.Message
		want string
	}{
		{codec.Message{ToUserName: "gh_a", FromUserName: "oU", CreateTime: 1714112400, MsgType: "text", MsgID: "1864323726461255680"},
			"m:gh_a:1864323726461255680"},
		{codec.Message{ToUserName: "gh_a", FromUserName: "oU", CreateTime: 1714112400, MsgType: "event", Event: "subscribe_msg_popup_event"},
			"e:gh_a:oU:1714112400:subscribe_msg_popup_event"},
		{codec.Message{FromUserName: "oU", CreateTime: -5, MsgType: "event"}, "e::oU:-5:"},
		{codec.Message{ToUserName: "gh_a", MsgType: "event", Event: "x"}, ""},
		{codec.Message{}, ""},
	}
	for _, tt := range tests {
		if got := DefaultDedupeKey(&tt.msg); got != tt.want {
			t.Errorf("DefaultDedupeKey(%+v) = %q, want %q", tt.msg, got, tt.want)
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
	mustOK(t, mux.OnText(c.hook))
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
	mustOK(t, mux.OnText(func(context.Context, *handlers.TextMessage) error {
		if runs.Add(1) == 1 {
			close(started)
			<-release
		}
		return nil
	}))
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
		mustOK(t, mux.OnText(c.hook))
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
