package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/middleware/pushtest"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// TestTwoInstances runs two instances of the example app, one served by
// net/http and one by Fiber, on one Redis with no balancer in front. Grants
// pushed to A are sent from both with cold token caches: the fleet fetches
// one token, and exactly the granted number of sends go out. A push
// retried to A and then to B, or delivered to both at once, runs the hooks
// once and books its grant once.
func TestTwoInstances(t *testing.T) {
	gate(t)
	ctx := context.Background()
	wechat := sendertest.NewServer()
	t.Cleanup(wechat.Close)
	redisAddr := redistest.StartServer(t).Addr()
	logsA, logsB := newLogCounter(), newLogCounter()
	appA, baseA := startApp(t, "nethttp", appEnv(wechat, redisAddr), logsA)
	_, baseB := startApp(t, "fiber", appEnv(wechat, redisAddr), logsB)
	client := newHTTPClient(64)
	t.Cleanup(client.CloseIdleConnections)
	wx, err := pushtest.New(pushtest.Config{Token: token, EncodingAESKey: aesKey, AppID: wechat.AppID, Format: codec.JSON})
	if err != nil {
		t.Fatal(err)
	}
	push := func(base string, m *codec.Message) pushtest.Response {
		t.Helper()
		resp, err := wx.Post(ctx, client, base+"/wechat/callback", m)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	const users, grantsEach, sendsEach = 10, 3, 5
	run := fmt.Sprintf("fleet%d", time.Now().UnixNano())
	ct := time.Now().Unix()
	for u := range users {
		for g := range grantsEach {
			ct++
			m := pushtest.Popup(gh, fmt.Sprintf("o_%s_%d", run, u), ct, [2]string{"T1", "accept"})
			if r := push(baseA, m); r.Status != 200 || string(r.Body) != "success" {
				t.Fatalf("popup %d/%d to A: %d %s", u, g, r.Status, r.Body)
			}
		}
	}

	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for u := range users {
		for i := range sendsEach {
			base := baseB
			if i%2 == 1 {
				base = baseA
			}
			wg.Go(func() {
				body, _ := json.Marshal(map[string]any{
					"touser": fmt.Sprintf("o_%s_%d", run, u), "template_id": "T1", "data": map[string]string{"thing1": "fleet"},
				})
				resp, err := client.Post(base+"/send", "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	t.Logf("sends from A and B: statuses %v; token fetches %d; WeChat accepted %d", statuses, wechat.TokenFetches(), wechat.SendCount())
	if statuses[http.StatusOK] != users*grantsEach || statuses[http.StatusConflict] != users*(sendsEach-grantsEach) {
		t.Errorf("sends: %v, want %d × 200 and %d × 409", statuses, users*grantsEach, users*(sendsEach-grantsEach))
	}
	if got := wechat.SendCount(); got != users*grantsEach {
		t.Errorf("WeChat accepted %d sends, want %d", got, users*grantsEach)
	}
	if got := wechat.TokenFetches(); got != 1 {
		t.Errorf("the fleet fetched %d tokens, want 1", got)
	}

	// A push retried to the other instance.
	hooks := func() int { return logsA.Count("subscription popup") + logsB.Count("subscription popup") }
	retried := pushtest.Popup(gh, "o_"+run+"_retried", ct+1, [2]string{"T2", "accept"})
	before := hooks()
	for _, base := range []string{baseA, baseB} {
		if r := push(base, retried); r.Status != 200 || string(r.Body) != "success" {
			t.Fatalf("retried push: %d %s", r.Status, r.Body)
		}
	}
	if got := hooks() - before; got != 1 {
		t.Errorf("a push delivered to A then B ran the hooks %d times, want 1", got)
	}

	// A push delivered to both at the same moment, then retried by WeChat
	// until both instances answered 200.
	both := pushtest.Popup(gh, "o_"+run+"_both", ct+2, [2]string{"T2", "accept"})
	before = hooks()
	answers := map[string][]int{}
	for _, base := range []string{baseA, baseB} {
		wg.Go(func() {
			for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
				r, err := wx.Post(ctx, client, base+"/wechat/callback", both)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				answers[base] = append(answers[base], r.Status)
				mu.Unlock()
				if r.Status == 200 {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	t.Logf("simultaneous delivery: A answered %v, B answered %v", answers[baseA], answers[baseB])
	if got := hooks() - before; got != 1 {
		t.Errorf("a push delivered to A and B at once ran the hooks %d times, want 1", got)
	}
	for _, u := range []string{"o_" + run + "_retried", "o_" + run + "_both"} {
		g, err := appA.Grants.Get(ctx, u, "T2")
		if err != nil {
			t.Fatal(err)
		}
		if g.Remaining != 1 {
			t.Errorf("%s holds %d grants after one accepted popup, want 1", u, g.Remaining)
		}
	}
}
