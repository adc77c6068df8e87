package fasthttpadapter

import (
	"net"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wxsub/wxsub/internal/adaptertest"
)

// serve starts a fasthttp server on 127.0.0.1 with h and returns its
// address.
func serve(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return ln.Addr().String()
}

func TestSharedTable(t *testing.T) {
	handlers := map[string]fasthttp.RequestHandler{}
	for path, e := range adaptertest.NewRoutes(t) {
		handlers[path] = New(e)
	}
	addr := serve(t, func(ctx *fasthttp.RequestCtx) {
		h, ok := handlers[string(ctx.Path())]
		if !ok {
			ctx.NotFound()
			return
		}
		h(ctx)
	})
	adaptertest.Run(t, "http://"+addr)
}

func TestRawQuery(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"/", ""},
		{"/cb", ""},
		{"/cb?", ""},
		{"/cb?a=1&b=2", "a=1&b=2"},
		{"/cb?a=1#frag", "a=1"},
		{"/cb?a=%3F?b", "a=%3F?b"},
		{"http://host/cb?x=y", "x=y"},
	}
	for _, tt := range tests {
		if got := rawQuery([]byte(tt.uri)); got != tt.want {
			t.Errorf("rawQuery(%q) = %q, want %q", tt.uri, got, tt.want)
		}
	}
}

func TestMethod(t *testing.T) {
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "OPTIONS"} {
		var ctx fasthttp.RequestCtx
		ctx.Request.Header.SetMethod(m)
		if got := method(&ctx); got != m {
			t.Errorf("method = %q, want %q", got, m)
		}
	}
}

// With StreamRequestBody, fasthttp hands over a body larger than its own
// limit as a stream; the adapter must not read all of it.
func TestStreamedBodyReadUpToLimit(t *testing.T) {
	e := adaptertest.NewRoutes(t)[adaptertest.PathPlain]
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: New(e), StreamRequestBody: true, MaxRequestBodySize: 64 << 10}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	adaptertest.CheckStreamedBodyLimit(t, ln.Addr().String())
}

// Streamed bodies are served like any other: the shared table through a
// server that hands every body over as a stream (with StreamRequestBody,
// fasthttp does so whatever its size).
func TestSharedTableStreamed(t *testing.T) {
	handlers := map[string]fasthttp.RequestHandler{}
	for path, e := range adaptertest.NewRoutes(t) {
		handlers[path] = New(e)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{StreamRequestBody: true, MaxRequestBodySize: 1 << 10, Handler: func(ctx *fasthttp.RequestCtx) {
		h, ok := handlers[string(ctx.Path())]
		if !ok {
			ctx.NotFound()
			return
		}
		h(ctx)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	adaptertest.RunCases(t, "http://"+ln.Addr().String(), adaptertest.StreamedCases(t))
}
