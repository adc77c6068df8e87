package loadtest

import (
	"context"
	"errors"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/wxsub/wxsub/example/internal/app"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// Secrets of the mini-program every scenario plays.
const (
	token  = "loadtest-token"
	aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	gh     = "gh_loadtest00000"
)

// Long-term and one-time templates of the app under test.
var (
	longTerm = []string{"LT1"}
	oneTime  = []string{"T1", "T2"}
)

// frameworks are the two example programs: example/nethttp and example/fiber.
var frameworks = []string{"nethttp", "fiber"}

// appEnv is the example app's environment for a fake WeChat: compatible
// mode (the key is set), so plaintext and encrypted pushes both arrive.
func appEnv(wechat *sendertest.Server, redisAddr string) map[string]string {
	env := map[string]string{
		"WECHAT_APPID": wechat.AppID, "WECHAT_SECRET": wechat.Secret, "WECHAT_TOKEN": token,
		"WECHAT_AES_KEY": aesKey, "WECHAT_API_BASE": wechat.URL, "WECHAT_LONG_TERM_TEMPLATES": "LT1",
		// The mix sends plaintext and encrypted pushes to one route.
		"WECHAT_MODE": "compatible",
	}
	if redisAddr != "" {
		env["REDIS_URL"] = "redis://" + redisAddr + "/0"
	}
	return env
}

// startApp builds the example app from env and serves it with framework
// on a loopback port, configured as the example program configures it. It
// returns the app and its base URL; both stop when the test ends.
func startApp(t *testing.T, framework string, env map[string]string, logs *logCounter) (*app.App, string) {
	t.Helper()
	cfg, err := app.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, logs.Logger())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := serveApp(framework, a, ln)
	if stop == nil {
		t.Fatalf("unknown framework %q", framework)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := stop(ctx); err != nil {
			t.Errorf("%s shutdown: %v", framework, err)
		}
	})
	return a, "http://" + ln.Addr().String()
}

// serveApp serves a with framework on ln, as the example program serves
// it, and returns the function that stops the server and closes a; nil
// for an unknown framework.
func serveApp(framework string, a *app.App, ln net.Listener) func(context.Context) error {
	switch framework {
	case "nethttp":
		// As example/nethttp serves it.
		srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		return func(ctx context.Context) error {
			defer a.Close(ctx)
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		}
	case "fiber":
		f := a.FiberApp()
		go func() { _ = f.Listener(ln) }()
		return func(ctx context.Context) error {
			defer a.Close(ctx)
			return f.ShutdownWithTimeout(10 * time.Second)
		}
	}
	return nil
}

// newHTTPClient is a load generator's client: many keep-alive connections
// to one host, and a bound on every request.
func newHTTPClient(conns int) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = conns
	tr.MaxIdleConnsPerHost = conns
	tr.MaxConnsPerHost = conns
	return &http.Client{Transport: tr, Timeout: 15 * time.Second}
}
