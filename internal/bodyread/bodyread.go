// Package bodyread reads push bodies for the adapters that stream them
// (httpadapter, and fasthttpadapter with StreamRequestBody): into pooled
// buffers, never more than the Endpoint's limit plus one byte, so an
// oversized body costs no more than that before the Endpoint refuses it.
package bodyread

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"

	"github.com/wxsub/wxsub/middleware"
)

// maxPooled is the largest body buffer kept for reuse. Pushes are a few
// KiB; an occasional large one should not pin its buffer.
const maxPooled = 64 << 10

// Unreadable is the answer to a body that could not be read.
var Unreadable = middleware.Response{Status: http.StatusBadRequest, ContentType: middleware.ContentTypeText,
	Body: []byte(middleware.ReasonUnreadableBody)}

// Server serves an Endpoint, reading each body into a pooled buffer. It is
// safe for concurrent use.
type Server struct {
	e     *middleware.Endpoint
	limit int64
	// buffers recycles body buffers: Serve keeps nothing of a body.
	buffers sync.Pool
}

// New returns a Server for e, which must not be nil.
func New(e *middleware.Endpoint) *Server {
	s := &Server{e: e, limit: e.MaxBodyBytes() + 1}
	s.buffers.New = func() any { b := make([]byte, 0, 4096); return &b }
	return s
}

// Serve reads at most the limit of body (nil reads as empty) as req's body,
// asks the Endpoint, and hands its answer to write, or hands Unreadable to
// write when reading failed. The buffer goes back to the pool once write
// returns.
func (s *Server) Serve(ctx context.Context, req middleware.Request, body io.Reader, write func(middleware.Response)) {
	buf := s.buffers.Get().(*[]byte)
	defer func() {
		if cap(*buf) <= maxPooled {
			s.buffers.Put(buf)
		}
	}()
	b := (*buf)[:0]
	var err error
	if body != nil {
		b, err = ReadAtMost(body, b, s.limit)
	}
	*buf = b
	if err != nil {
		write(Unreadable)
		return
	}
	req.Body = b
	// Serve keeps nothing of req.Body, so the buffer can go back to the
	// pool when this returns.
	write(s.e.Serve(ctx, req))
}

// ReadAtMost appends up to limit bytes of r to buf.
func ReadAtMost(r io.Reader, buf []byte, limit int64) ([]byte, error) {
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
