package middleware

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

func TestGrantBookkeepingMemory(t *testing.T) {
	testGrantBookkeeping(t, func(t *testing.T) (store.GrantStore, store.DedupeStore) {
		s := memory.New()
		return s, s
	})
}

// testGrantBookkeeping runs the bookkeeping scenarios against the stores
// newStores returns (fresh ones for each scenario).
func testGrantBookkeeping(t *testing.T, newStores func(t *testing.T) (store.GrantStore, store.DedupeStore)) {
	type grant struct {
		template  string
		remaining int64
		longTerm  bool
	}
	type push struct {
		body   string
		status int
	}
	at := func(sec int64) int64 { return now - 100 + sec }
	tests := []struct {
		name       string
		failFirst  bool // the first hook run fails
		pushes     []push
		want       []grant
		hookRuns   int
		hookSawNew bool // the hook sees the grant already booked
	}{
		{
			name:     "accept adds one",
			pushes:   []push{{popupXML(openID, at(1), [2]string{"T1", "accept"}), 200}},
			want:     []grant{{"T1", 1, false}},
			hookRuns: 1, hookSawNew: true,
		},
		{
			name:     "acceptWithAudio adds one, reject and ban and filter add none",
			pushes:   []push{{popupXML(openID, at(1), [2]string{"T1", "acceptWithAudio"}, [2]string{"T2", "reject"}, [2]string{"T3", "ban"}), 200}},
			want:     []grant{{"T1", 1, false}, {"T2", 0, false}, {"T3", 0, false}},
			hookRuns: 1,
		},
		{
			name: "retries of a handled push add nothing",
			pushes: []push{
				{popupXML(openID, at(1), [2]string{"T1", "accept"}), 200},
				{popupXML(openID, at(1), [2]string{"T1", "accept"}), 200},
				{popupXML(openID, at(1), [2]string{"T1", "accept"}), 200},
			},
			want:     []grant{{"T1", 1, false}},
			hookRuns: 1,
		},
		{
			name:      "retry after a failed hook: hook runs again, grant counted once",
			failFirst: true,
			pushes: []push{
				{popupXML(openID, at(1), [2]string{"T1", "accept"}, [2]string{"T2", "accept"}), 500},
				{popupXML(openID, at(1), [2]string{"T1", "accept"}, [2]string{"T2", "accept"}), 200},
				{popupXML(openID, at(1), [2]string{"T1", "accept"}, [2]string{"T2", "accept"}), 200},
			},
			want:     []grant{{"T1", 1, false}, {"T2", 1, false}},
			hookRuns: 2,
		},
		{
			name: "separate accepts add up",
			pushes: []push{
				{popupXML(openID, at(1), [2]string{"T1", "accept"}), 200},
				{popupXML(openID, at(2), [2]string{"T1", "accept"}), 200},
				{popupXML(openID, at(3), [2]string{"T1", "accept"}), 200},
			},
			want:     []grant{{"T1", 3, false}},
			hookRuns: 3,
		},
		{
			name: "popup reject of a one-time template keeps earlier grants",
			pushes: []push{
				{popupXML(openID, at(1), [2]string{"T1", "accept"}), 200},
				{popupXML(openID, at(2), [2]string{"T1", "reject"}), 200},
			},
			want:     []grant{{"T1", 1, false}},
			hookRuns: 2,
		},
		{
			name:     "long-term accept",
			pushes:   []push{{popupXML(openID, at(1), [2]string{"L1", "accept"}, [2]string{"T1", "accept"}), 200}},
			want:     []grant{{"L1", 0, true}, {"T1", 1, false}},
			hookRuns: 1,
		},
		{
			name: "popup reject of a long-term template revokes it",
			pushes: []push{
				{popupXML(openID, at(1), [2]string{"L1", "accept"}), 200},
				{popupXML(openID, at(2), [2]string{"L1", "reject"}), 200},
			},
			want:     []grant{{"L1", 0, false}},
			hookRuns: 2,
		},
		{
			name: "change reject revokes",
			pushes: []push{
				{popupXML(openID, at(1), [2]string{"T1", "accept"}, [2]string{"L1", "accept"}), 200},
				{popupXML(openID, at(2), [2]string{"T1", "accept"}), 200},
				{changeJSON(openID, at(3), "T1", "reject"), 200},
				{changeJSON(openID, at(4), "L1", "reject"), 200},
			},
			want:     []grant{{"T1", 0, false}, {"L1", 0, false}},
			hookRuns: 2, // the change events have no hook
		},
		{
			name: "sent events change nothing",
			pushes: []push{
				{popupXML(openID, at(1), [2]string{"T1", "accept"}), 200},
				{`{"ToUserName":"gh_97417a04a28d","FromUserName":"` + openID + `","CreateTime":1714112400,"MsgType":"event",` +
					`"Event":"subscribe_msg_sent_event","List":{"TemplateId":"T1","MsgID":"1","ErrorCode":10002,"ErrorStatus":"fail"}}`, 200},
			},
			want:     []grant{{"T1", 1, false}},
			hookRuns: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			grants, dedupe := newStores(t)
			runs := 0
			mux := handlers.NewMux()
			mux.OnSubscribePopup(func(ctx context.Context, ev *handlers.SubscribePopupEvent) error {
				runs++
				if tt.hookSawNew {
					g, err := grants.Get(ctx, ev.FromUserName, "T1")
					if err != nil || g.Remaining != 1 {
						t.Errorf("hook sees %+v, %v; want the grant booked", g, err)
					}
				}
				if tt.failFirst && runs == 1 {
					return errors.New("first run fails")
				}
				return nil
			})
			e := newEndpoint(t, Config{Mux: mux, Grants: grants, Dedupe: dedupe, LongTerm: TemplateSet("L1", "L2")})
			for i, p := range tt.pushes {
				got := e.Serve(context.Background(), plainPush(p.body))
				if got.Status != p.status {
					t.Errorf("push %d: status %d %q, want %d", i, got.Status, got.Body, p.status)
				}
			}
			for _, w := range tt.want {
				g := getGrant(t, grants, openID, w.template)
				if g.Remaining != w.remaining || g.LongTerm != w.longTerm {
					t.Errorf("%s: remaining %d long-term %v; want %d %v", w.template, g.Remaining, g.LongTerm, w.remaining, w.longTerm)
				}
			}
			if runs != tt.hookRuns {
				t.Errorf("hook ran %d times, want %d", runs, tt.hookRuns)
			}
		})
	}
}

func TestGrantsOnlyForVerifiedPushes(t *testing.T) {
	mem := memory.New()
	e := newEndpoint(t, Config{Grants: mem})
	body := popupXML(openID, now, [2]string{"T1", "accept"})
	forged := post("signature="+"0123456789012345678901234567890123456789"+"&timestamp=1714112445&nonce=n", body)
	checkResponse(t, "forged", e.Serve(context.Background(), forged), 403, ReasonBadSignature)
	if g := getGrant(t, mem, openID, "T1"); g.Remaining != 0 {
		t.Errorf("a forged push added a grant: %+v", g)
	}
}

func TestGrantTTL(t *testing.T) {
	mem := memory.New()
	e := newEndpoint(t, Config{Grants: mem, GrantTTL: 3600e9})
	checkResponse(t, "accept", e.Serve(context.Background(), plainPush(popupXML(openID, now, [2]string{"T1", "accept"}))), 200, "success")
	if g := getGrant(t, mem, openID, "T1"); g.Remaining != 1 || g.ExpiresAt.IsZero() {
		t.Errorf("grant %+v, want one expiring grant", g)
	}
}

func TestTemplateSet(t *testing.T) {
	f := TemplateSet("a", "b")
	for id, want := range map[string]bool{"a": true, "b": true, "c": false, "": false} {
		if got := f(id); got != want {
			t.Errorf("TemplateSet(a, b)(%q) = %v", id, got)
		}
	}
}

// A subscription event whose items the decoder found none of (a shape it
// does not know) or one without a TemplateId books nothing: the route says
// so at warning level rather than drop the grant without a trace.
func TestGrantlessSubscriptionEventIsLogged(t *testing.T) {
	logger, logs := newLogger()
	e := newEndpoint(t, Config{Grants: memory.New(), Logger: logger, ReplayWindow: NoReplayCheck})
	bodies := []string{
		// Item fields directly under the event key: not a shape WeChat is
		// known to send, so it decodes to no items.
		`{"ToUserName":"gh_x","FromUserName":"o_1","CreateTime":1,"MsgType":"event",` +
			`"Event":"subscribe_msg_popup_event","SubscribeMsgPopupEvent":{"TemplateId":"T","SubscribeStatusString":"accept"}}`,
		`{"ToUserName":"gh_x","FromUserName":"o_1","CreateTime":2,"MsgType":"event",` +
			`"Event":"subscribe_msg_popup_event","List":{"SubscribeStatusString":"accept"}}`,
	}
	for i, body := range bodies {
		checkResponse(t, "push", e.Serve(context.Background(), post(signedQuery(now, "n"+string(rune('0'+i))), body)), 200, "success")
	}
	for _, want := range []string{"subscription event without items", "subscription item without TemplateId"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no warning %q in the log:\n%s", want, logs)
		}
	}
}
