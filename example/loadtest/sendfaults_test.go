package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// A failure mode of the fake WeChat, played for every user of one group.
type failure struct {
	name  string
	rules func(user string) []sendertest.Rule
	// ambiguous reports that a failed send may have been delivered.
	ambiguous bool
}

var failures = []failure{
	{name: "healthy", rules: func(string) []sendertest.Rule { return nil }},
	{name: "busy-then-ok", rules: func(u string) []sendertest.Rule {
		return []sendertest.Rule{{ToUser: u, Times: 2, Reply: sendertest.Reply{ErrCode: -1}}}
	}},
	{name: "busy", rules: func(u string) []sendertest.Rule {
		return []sendertest.Rule{{ToUser: u, Reply: sendertest.Reply{ErrCode: -1}}}
	}},
	{name: "timeout", ambiguous: true, rules: func(u string) []sendertest.Rule {
		return []sendertest.Rule{{ToUser: u, Times: 3, Reply: sendertest.Reply{Delay: time.Minute}}}
	}},
	{name: "dropped", ambiguous: true, rules: func(u string) []sendertest.Rule {
		return []sendertest.Rule{
			{ToUser: u, Times: 2, Reply: sendertest.Reply{Drop: sendertest.DropAfterBody}},
			{ToUser: u, Times: 2, Reply: sendertest.Reply{Drop: sendertest.DropBeforeBody}},
		}
	}},
	{name: "http-502", ambiguous: true, rules: func(u string) []sendertest.Rule {
		return []sendertest.Rule{{ToUser: u, Times: 3, Reply: sendertest.Reply{Status: http.StatusBadGateway}}}
	}},
}

// Shape of the burst: each user holds grantsPerUser one-time grants and
// gets sendsPerUser concurrent sends.
const (
	usersPerFailure = 4
	grantsPerUser   = 4
	sendsPerUser    = 8
	// sendTimeout is the HTTP client's timeout: what makes the "timeout"
	// sends (held a minute by the fake) fail. Every other send must beat
	// it, all of them at once, on a loaded machine too: 0.3 s did not.
	sendTimeout = 5 * time.Second
)

// outcome is what one user's sends came to.
type outcome struct {
	msgIDs   []string
	noGrant  int
	busy     int
	unknown  int
	other    []error
	failMode failure
}

// TestSendBurstFaults sends a concurrent burst while the fake WeChat answers
// -1, times out, drops connections and answers 502, with the memory store
// and with Redis. Every grant must end either consumed by a delivered send
// or back in the store: initial grants = confirmed deliveries + remaining,
// per user, exactly. Sends that may have been delivered (WeChat took the
// request but the answer was lost) are refunded by the sender's documented
// choice; the fake's record shows how many of them WeChat did deliver,
// which must not exceed the sends reported ErrDeliveryUnknown.
func TestSendBurstFaults(t *testing.T) {
	gate(t)
	t.Run("memory", func(t *testing.T) { sendBurst(t, memory.New()) })
	t.Run("redis", func(t *testing.T) {
		c, prefix := redistest.Client(t)
		s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		sendBurst(t, s)
	})
}

func sendBurst(t *testing.T, grants store.GrantStore) {
	ctx := context.Background()
	wechat := sendertest.NewServer()
	t.Cleanup(wechat.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256
	client, err := sender.New(wechat.AppID, wechat.Secret, sender.WithBaseURL(wechat.URL),
		sender.WithGrantStore(grants), sender.WithHTTPClient(&http.Client{Transport: tr, Timeout: sendTimeout}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.CloseIdleConnections)

	run := fmt.Sprintf("snd%d", time.Now().UnixNano())
	outcomes := map[string]*outcome{}
	for _, f := range failures {
		for i := range usersPerFailure {
			u := fmt.Sprintf("o_%s_%s_%d", run, f.name, i)
			outcomes[u] = &outcome{failMode: f}
			if _, err := grants.AddOneTime(ctx, u, "T1", grantsPerUser, 0); err != nil {
				t.Fatal(err)
			}
			for _, r := range f.rules(u) {
				wechat.OnSend(r)
			}
		}
	}
	t.Cleanup(func() {
		for u := range outcomes {
			_ = grants.DeleteUser(ctx, u)
		}
	})

	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = time.Now()
	)
	for u, o := range outcomes {
		for range sendsPerUser {
			wg.Go(func() {
				msgID, err := client.SendSubscribe(ctx, sender.SubscribeMessage{
					ToUser: u, TemplateID: "T1", Page: "pages/order", Data: map[string]string{"thing1": "发货通知"},
				})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					o.msgIDs = append(o.msgIDs, msgID)
				case errors.Is(err, sender.ErrNoGrant):
					o.noGrant++
				case errors.Is(err, sender.ErrBusy):
					o.busy++
				case errors.Is(err, sender.ErrDeliveryUnknown):
					o.unknown++
				default:
					o.other = append(o.other, err)
				}
			})
		}
	}
	wg.Wait()
	t.Logf("%d sends in %v", len(outcomes)*sendsPerUser, time.Since(start).Round(time.Millisecond))

	delivered := map[string][]string{}
	for _, s := range wechat.Sends() {
		delivered[s.ToUser] = append(delivered[s.ToUser], s.MsgID)
	}
	byMode := map[string][5]int{} // confirmed, remaining, ambiguous delivered, unknown, busy
	var initial, confirmed, remaining int64
	for u, o := range outcomes {
		g, err := grants.Get(ctx, u, "T1")
		if err != nil {
			t.Fatal(err)
		}
		initial += grantsPerUser
		confirmed += int64(len(o.msgIDs))
		remaining += g.Remaining
		for _, err := range o.other {
			t.Errorf("%s (%s): unexpected error %v", u, o.failMode.name, err)
		}
		if got := int64(len(o.msgIDs)) + g.Remaining; got != grantsPerUser {
			t.Errorf("%s (%s): %d confirmed deliveries + %d remaining = %d, want the %d grants it held",
				u, o.failMode.name, len(o.msgIDs), g.Remaining, got, grantsPerUser)
		}
		// Every confirmed msgid was delivered exactly once.
		seen := map[string]int{}
		for _, id := range delivered[u] {
			seen[id]++
		}
		for _, id := range o.msgIDs {
			if seen[id] != 1 {
				t.Errorf("%s: msgid %s returned to the caller, delivered %d times", u, id, seen[id])
			}
		}
		extra := len(delivered[u]) - len(o.msgIDs)
		if extra < 0 || extra > o.unknown {
			t.Errorf("%s (%s): WeChat delivered %d messages, %d confirmed, %d reported ErrDeliveryUnknown",
				u, o.failMode.name, len(delivered[u]), len(o.msgIDs), o.unknown)
		}
		if !o.failMode.ambiguous && (extra != 0 || o.unknown != 0) {
			t.Errorf("%s (%s): %d ambiguous sends, want none", u, o.failMode.name, o.unknown)
		}
		switch o.failMode.name {
		case "healthy":
			if len(o.msgIDs) != grantsPerUser || o.noGrant != sendsPerUser-grantsPerUser {
				t.Errorf("%s: %d delivered, %d without a grant; want %d and %d", u, len(o.msgIDs), o.noGrant, grantsPerUser, sendsPerUser-grantsPerUser)
			}
		case "busy":
			if len(o.msgIDs) != 0 || g.Remaining != grantsPerUser || o.busy == 0 {
				t.Errorf("%s: %d delivered, %d remaining, %d busy; want 0, %d, > 0", u, len(o.msgIDs), g.Remaining, o.busy, grantsPerUser)
			}
		}
		m := byMode[o.failMode.name]
		m[0] += len(o.msgIDs)
		m[1] += int(g.Remaining)
		m[2] += extra
		m[3] += o.unknown
		m[4] += o.busy
		byMode[o.failMode.name] = m
	}
	for _, f := range failures {
		m := byMode[f.name]
		t.Logf("%-13s confirmed %2d, remaining %2d, ErrDeliveryUnknown %2d (of which WeChat delivered %d), ErrBusy %2d",
			f.name, m[0], m[1], m[3], m[2], m[4])
	}
	t.Logf("grants: %d initial = %d confirmed deliveries + %d remaining", initial, confirmed, remaining)
	if initial != confirmed+remaining {
		t.Errorf("grants do not reconcile: %d initial, %d confirmed + %d remaining", initial, confirmed, remaining)
	}
}
