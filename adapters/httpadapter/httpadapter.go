// Package httpadapter mounts a wxsub callback route in any net/http server:
// http.ServeMux, chi, gorilla/mux, gin (gin.WrapH) or echo
// (echo.WrapHandler).
//
// The handler only carries the request to middleware.Endpoint.Serve and
// its answer back: every protocol decision is the Endpoint's.
package httpadapter

import (
	"net/http"

	"github.com/wxsub/wxsub/internal/bodyread"
	"github.com/wxsub/wxsub/middleware"
)

// New returns an http.Handler serving e. It reads at most
// e.MaxBodyBytes()+1 bytes of a body, so an oversized push costs no more
// than that before it is refused.
//
// It panics if e is nil.
func New(e *middleware.Endpoint) http.Handler {
	if e == nil {
		panic("wxsub/httpadapter: New needs an Endpoint")
	}
	return &handler{e: e, body: bodyread.New(e)}
}

type handler struct {
	e    *middleware.Endpoint
	body *bodyread.Server
}

// contentTypes holds the header values of the Endpoint's content types, so
// that writing one costs no allocation.
var contentTypes = map[string][]string{
	middleware.ContentTypeText: {middleware.ContentTypeText},
	middleware.ContentTypeXML:  {middleware.ContentTypeXML},
	middleware.ContentTypeJSON: {middleware.ContentTypeJSON},
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req := middleware.Request{Method: r.Method, RawQuery: r.URL.RawQuery}
	if r.Method == http.MethodPost {
		// A server's request always has a body; a handed-on client
		// request may not (nil), which reads as empty.
		h.body.Serve(r.Context(), req, r.Body, func(resp middleware.Response) { write(w, resp) })
		return
	}
	write(w, h.e.Serve(r.Context(), req))
}

// write writes resp to w.
func write(w http.ResponseWriter, resp middleware.Response) {
	if v, ok := contentTypes[resp.ContentType]; ok {
		w.Header()["Content-Type"] = v
	} else {
		w.Header().Set("Content-Type", resp.ContentType)
	}
	if resp.Allow != "" {
		w.Header().Set("Allow", resp.Allow)
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}
