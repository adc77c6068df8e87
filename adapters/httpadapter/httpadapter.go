// Package httpadapter mounts a wxsub callback route in any net/http server:
// http.ServeMux, chi, gorilla/mux, gin (gin.WrapH) or echo
// (echo.WrapHandler).
//
// The handler only carries the request to middleware.Endpoint.Serve and
// its answer back: every protocol decision is the Endpoint's.
package httpadapter

import (
	"errors"
	"io"
	"net/http"
	"sync"

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
	h := &handler{e: e, limit: e.MaxBodyBytes() + 1}
	h.buffers.New = func() any { b := make([]byte, 0, 4096); return &b }
	return h
}

type handler struct {
	e     *middleware.Endpoint
	limit int64
	// buffers recycles body buffers: Serve keeps nothing of a body.
	buffers sync.Pool
}

// maxPooled is the largest body buffer kept for reuse. Pushes are a few
// KiB; an occasional large one should not pin its buffer.
const maxPooled = 64 << 10

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
		buf := h.buffers.Get().(*[]byte)
		defer func() {
			if cap(*buf) <= maxPooled {
				h.buffers.Put(buf)
			}
		}()
		body := (*buf)[:0]
		var err error
		if r.Body != nil { // a server's request always has one; a handed-on client request may not
			body, err = readAtMost(r.Body, body, h.limit)
		}
		*buf = body
		if err != nil {
			write(w, middleware.Response{Status: http.StatusBadRequest, ContentType: middleware.ContentTypeText,
				Body: []byte(middleware.ReasonUnreadableBody)})
			return
		}
		req.Body = body
	}
	// Serve keeps nothing of req.Body, so the buffer can go back to the
	// pool when this returns.
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

// readAtMost appends up to limit bytes of r to buf.
func readAtMost(r io.Reader, buf []byte, limit int64) ([]byte, error) {
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := cap(buf)
		if int64(end) > limit {
			end = int(limit)
		}
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
