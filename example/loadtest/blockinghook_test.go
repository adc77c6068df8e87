package loadtest

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wxsub/wxsub/adapters/fiberadapter"
	"github.com/wxsub/wxsub/adapters/httpadapter"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/middleware"
	"github.com/wxsub/wxsub/middleware/pushtest"
)

// wechatDeadline is how long WeChat waits for an answer before retrying.
const wechatDeadline = 5 * time.Second

// serveEndpoint mounts e at /wechat/callback with framework on a loopback
// port and returns the route's URL.
func serveEndpoint(t *testing.T, framework string, e *middleware.Endpoint) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	switch framework {
	case "nethttp":
		mux := http.NewServeMux()
		mux.Handle("/wechat/callback", httpadapter.New(e))
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
	case "fiber":
		f := fiber.New(fiber.Config{DisableStartupMessage: true, BodyLimit: int(e.MaxBodyBytes()) + 1})
		f.Post("/wechat/callback", fiberadapter.New(fiberadapter.Config{Endpoint: e}))
		go func() { _ = f.Listener(ln) }()
		t.Cleanup(func() { _ = f.ShutdownWithTimeout(5 * time.Second) })
	}
	return "http://" + ln.Addr().String() + "/wechat/callback"
}

// TestBlockingHook mounts an Endpoint, with the default HookTimeout, whose
// popup hook ignores its context and blocks. The route must still answer
// within WeChat's 5 s (500, so that WeChat retries); a retry while the hook
// is still stuck is answered 503 at once; once the hook returns, the next
// retry runs it again and succeeds.
func TestBlockingHook(t *testing.T) {
	gate(t)
	for _, fw := range frameworks {
		t.Run(fw, func(t *testing.T) {
			t.Parallel()
			release := make(chan struct{})
			var stuck atomic.Bool
			stuck.Store(true)
			mux := handlers.NewMux()
			mux.OnSubscribePopup(func(context.Context, *handlers.SubscribePopupEvent) error {
				if stuck.Load() {
					<-release // ignores the context on purpose
				}
				return nil
			})
			e, err := middleware.New(middleware.Config{Token: token, Mux: mux})
			if err != nil {
				t.Fatal(err)
			}
			url := serveEndpoint(t, fw, e)
			wx, err := pushtest.New(pushtest.Config{Token: token})
			if err != nil {
				t.Fatal(err)
			}
			c := &http.Client{Timeout: 2 * wechatDeadline}
			push := pushtest.Popup(gh, "o_blocked", time.Now().Unix(), [2]string{"T1", "accept"})
			post := func() (pushtest.Response, time.Duration) {
				t.Helper()
				start := time.Now()
				resp, err := wx.Post(context.Background(), c, url, push)
				if err != nil {
					t.Fatal(err)
				}
				return resp, time.Since(start)
			}

			resp, took := post()
			t.Logf("%s: blocked hook answered %d %q after %v", fw, resp.Status, resp.Body, took.Round(time.Millisecond))
			if resp.Status != http.StatusInternalServerError || string(resp.Body) != middleware.ReasonHookTimeout {
				t.Errorf("got %d %q, want 500 %q", resp.Status, resp.Body, middleware.ReasonHookTimeout)
			}
			if took >= wechatDeadline {
				t.Errorf("answered after %v, want under %v", took, wechatDeadline)
			}
			// "At once": not after the hook deadline the first delivery
			// waited for, with room for a loaded machine.
			resp, took = post()
			if resp.Status != http.StatusServiceUnavailable || took > middleware.DefaultHookTimeout/2 {
				t.Errorf("retry while the hook is stuck: %d %q after %v, want 503 at once", resp.Status, resp.Body, took)
			}
			stuck.Store(false)
			close(release)
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, _ = post()
				if resp.Status == http.StatusOK || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if resp.Status != http.StatusOK || !strings.HasPrefix(string(resp.Body), "success") {
				t.Errorf("retry after the hook returned: %d %q, want 200 success", resp.Status, resp.Body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := e.Close(ctx); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
}
