// Package fasthttpadapter mounts a wxsub callback route in a fasthttp
// server. It reads fasthttp's request directly, with no detour through
// net/http.
//
// The handler only carries the request to middleware.Endpoint.Serve and
// its answer back: every protocol decision is the Endpoint's. fasthttp
// reuses its buffers once a handler returns; the Endpoint keeps nothing of
// the body, and the query is copied, so hooks never see reused memory.
package fasthttpadapter

import (
	"bytes"
	"context"

	"github.com/valyala/fasthttp"

	"github.com/wxsub/wxsub/middleware"
)

// New returns a fasthttp.RequestHandler serving e. Hooks get a context
// with no values and no cancellation of its own (a fasthttp.RequestCtx
// must not outlive its handler, so it is not used as one).
//
// fasthttp reads the whole body before calling a handler; set the
// server's MaxRequestBodySize near e.MaxBodyBytes() to bound that read.
func New(e *middleware.Endpoint) fasthttp.RequestHandler {
	return func(fctx *fasthttp.RequestCtx) {
		Serve(context.Background(), e, fctx)
	}
}

// Serve answers fctx with e, handing ctx to the Endpoint as the push's
// context. It is New's handler, for frameworks built on fasthttp such as
// Fiber (see package fiberadapter).
func Serve(ctx context.Context, e *middleware.Endpoint, fctx *fasthttp.RequestCtx) {
	req := middleware.Request{
		Method:   method(fctx),
		RawQuery: rawQuery(fctx.RequestURI()),
	}
	if fctx.IsPost() {
		req.Body = fctx.PostBody()
	}
	resp := e.Serve(ctx, req)
	fctx.SetStatusCode(resp.Status)
	fctx.SetContentType(resp.ContentType)
	fctx.SetBody(resp.Body)
}

// method returns the request method, without allocating for GET and POST.
func method(fctx *fasthttp.RequestCtx) string {
	switch {
	case fctx.IsPost():
		return fasthttp.MethodPost
	case fctx.IsGet():
		return fasthttp.MethodGet
	}
	return string(fctx.Method())
}

// rawQuery copies the query of a request URI as received: what follows
// the first '?', up to any '#'.
func rawQuery(uri []byte) string {
	i := bytes.IndexByte(uri, '?')
	if i < 0 {
		return ""
	}
	q := uri[i+1:]
	if j := bytes.IndexByte(q, '#'); j >= 0 {
		q = q[:j]
	}
	return string(q)
}
