package fiberadapter

import (
	"context"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/internal/adaptertest"
	"github.com/wxsub/wxsub/middleware"
)

// listen serves app on 127.0.0.1 and returns its base URL.
func listen(t testing.TB, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })
	return "http://" + ln.Addr().String()
}

func newApp() *fiber.App { return fiber.New(fiber.Config{DisableStartupMessage: true}) }

func TestSharedTable(t *testing.T) {
	app := newApp()
	for path, e := range adaptertest.NewRoutes(t) {
		app.All(path, New(Config{Endpoint: e}))
	}
	adaptertest.Run(t, listen(t, app))
}

func TestNext(t *testing.T) {
	routes := adaptertest.NewRoutes(t)
	app := newApp()
	app.All("/cb", New(Config{
		Endpoint: routes[adaptertest.PathPlain],
		Next:     func(c *fiber.Ctx) bool { return c.Query("skip") == "1" },
	}), func(c *fiber.Ctx) error {
		return c.Status(fiber.StatusTeapot).SendString("skipped")
	})
	base := listen(t, app)
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	q := adaptertest.SignedQuery(adaptertest.Now, "1")
	tests := []struct {
		query  string
		status int
		body   string
	}{
		{q + "&skip=1", 418, "skipped"},
		{q + "&skip=0", 200, "success"},
		{q, 200, "success"},
	}
	for _, tt := range tests {
		status, _, body := adaptertest.Do(t, client, base, "POST", "/cb", tt.query, adaptertest.PopupXML(adaptertest.Now))
		if status != tt.status || string(body) != tt.body {
			t.Errorf("%s: got %d %q, want %d %q", tt.query, status, body, tt.status, tt.body)
		}
	}
}

func TestUserContextReachesHooks(t *testing.T) {
	type key struct{}
	seen := make(chan any, 1)
	mux := handlers.NewMux()
	mux.OnText(func(ctx context.Context, _ *handlers.TextMessage) error {
		seen <- ctx.Value(key{})
		return nil
	})
	e, err := middleware.New(middleware.Config{Token: adaptertest.Token, Mux: mux,
		Now: func() time.Time { return time.Unix(adaptertest.Now, 0) }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(context.Background())
	app := newApp()
	app.Use(func(c *fiber.Ctx) error {
		c.SetUserContext(context.WithValue(c.UserContext(), key{}, "request-7"))
		return c.Next()
	})
	app.Post("/cb", New(Config{Endpoint: e}))
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	status, _, body := adaptertest.Do(t, client, listen(t, app), "POST", "/cb",
		adaptertest.SignedQuery(adaptertest.Now, "1"), adaptertest.TextXML("5", "hi"))
	if status != 200 || string(body) == "" {
		t.Fatalf("got %d %q", status, body)
	}
	if got := <-seen; got != "request-7" {
		t.Errorf("hook saw %v, want request-7", got)
	}
}

func TestNewWithoutEndpointPanics(t *testing.T) {
	for _, cfg := range []Config{{}, ConfigDefault} {
		func() {
			defer func() {
				if r := recover(); r != "wxsub/fiberadapter: Config.Endpoint is required" {
					t.Errorf("New(%v) recovered %v", cfg, r)
				}
			}()
			New(cfg)
		}()
	}
}

// TestConfigDefaultFillsEmptyFields is the regression test of issue 11
// item 7: ConfigDefault promised to fill a Config's empty fields, but New
// replaced the config whole (so ConfigDefault.Next was never used), and,
// its only required field aside, New() compiled and always panicked. New
// now takes one Config, and fills its empty fields from ConfigDefault, as
// Fiber's configDefault does.
func TestConfigDefaultFillsEmptyFields(t *testing.T) {
	if reflect.TypeOf(New).IsVariadic() {
		t.Errorf("New is variadic: New() compiles and always panics, since Endpoint is required")
	}
	routes := adaptertest.NewRoutes(t)
	saved := ConfigDefault
	t.Cleanup(func() { ConfigDefault = saved })
	ConfigDefault.Next = func(c *fiber.Ctx) bool { return c.Query("skip") == "1" }
	app := newApp()
	app.All("/cb", New(Config{Endpoint: routes[adaptertest.PathPlain]}), func(c *fiber.Ctx) error {
		return c.Status(fiber.StatusTeapot).SendString("skipped")
	})
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	q := adaptertest.SignedQuery(adaptertest.Now, "1") + "&skip=1"
	status, _, body := adaptertest.Do(t, client, listen(t, app), "POST", "/cb", q, adaptertest.PopupXML(adaptertest.Now))
	if status != fiber.StatusTeapot || string(body) != "skipped" {
		t.Errorf("ConfigDefault.Next not used: got %d %q, want 418 skipped", status, body)
	}
}

// With StreamRequestBody, Fiber (fasthttp) hands over a body larger than
// its BodyLimit as a stream; the adapter must not read all of it.
func TestStreamedBodyReadUpToLimit(t *testing.T) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, StreamRequestBody: true, BodyLimit: 64 << 10})
	app.All(adaptertest.PathPlain, New(Config{Endpoint: adaptertest.NewRoutes(t)[adaptertest.PathPlain]}))
	adaptertest.CheckStreamedBodyLimit(t, strings.TrimPrefix(listen(t, app), "http://"))
}

// Streamed bodies are served like any other: the shared table through a
// server that hands every body over as a stream (with StreamRequestBody,
// fasthttp does so whatever its size).
func TestSharedTableStreamed(t *testing.T) {
	app := fiber.New(fiber.Config{DisableStartupMessage: true, StreamRequestBody: true, BodyLimit: 1 << 10})
	for path, e := range adaptertest.NewRoutes(t) {
		app.All(path, New(Config{Endpoint: e}))
	}
	adaptertest.RunCases(t, listen(t, app), adaptertest.StreamedCases(t))
}
