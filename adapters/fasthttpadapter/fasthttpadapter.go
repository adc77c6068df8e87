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

	"github.com/wxsub/wxsub/internal/bodyread"
	"github.com/wxsub/wxsub/middleware"
)

// New returns a fasthttp.RequestHandler serving e. Hooks get a context
// with no values and no cancellation of its own (a fasthttp.RequestCtx
// must not outlive its handler, so it is not used as one).
//
// A body fasthttp has read whole is passed as it is; the Endpoint refuses
// one over e.MaxBodyBytes(). Set the server's MaxRequestBodySize near that
// limit, since fasthttp reads up to it before calling a handler. With the
// server's StreamRequestBody option, the handler reads at most
// e.MaxBodyBytes()+1 bytes of the stream, so a larger body costs no more
// than that before it is refused. It panics if e is nil.
func New(e *middleware.Endpoint) fasthttp.RequestHandler {
	h := NewHandler(e)
	return func(fctx *fasthttp.RequestCtx) {
		h.Serve(context.Background(), fctx)
	}
}

// Handler carries fasthttp requests to an Endpoint and its answers back.
// It is New's handler with the push's context left to the caller, for
// frameworks built on fasthttp such as Fiber (see package fiberadapter).
// It is safe for concurrent use.
type Handler struct {
	e *middleware.Endpoint
	// body reads streamed bodies into pooled buffers.
	body *bodyread.Server
}

// NewHandler returns a Handler serving e. It panics if e is nil.
func NewHandler(e *middleware.Endpoint) *Handler {
	if e == nil {
		panic("wxsub/fasthttpadapter: NewHandler needs an Endpoint")
	}
	return &Handler{e: e, body: bodyread.New(e)}
}

// Serve answers fctx with the Endpoint, handing ctx to it as the push's
// context.
func (h *Handler) Serve(ctx context.Context, fctx *fasthttp.RequestCtx) {
	req := middleware.Request{
		Method:   method(fctx),
		RawQuery: rawQuery(fctx.RequestURI()),
	}
	if fctx.IsPost() {
		if stream := fctx.RequestBodyStream(); stream != nil {
			h.body.Serve(ctx, req, stream, func(resp middleware.Response) { write(fctx, resp) })
			return
		}
		req.Body = fctx.PostBody()
	}
	write(fctx, h.e.Serve(ctx, req))
}

// write writes resp to fctx.
func write(fctx *fasthttp.RequestCtx, resp middleware.Response) {
	fctx.SetStatusCode(resp.Status)
	fctx.SetContentType(resp.ContentType)
	if resp.Allow != "" {
		fctx.Response.Header.Set("Allow", resp.Allow)
	}
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
