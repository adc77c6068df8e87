package sender

import (
	"io"
	"sync"
	"sync/atomic"
)

// reqBuf is a pooled request body. The transport may still be writing a
// body after Client.Do returns, so a buffer goes back to the pool only when
// its owner is done with it and the transport reported (through httptrace)
// that it wrote every request made from it. A request the transport never
// reports on keeps its buffer out of the pool for good; the garbage
// collector frees it.
type reqBuf struct {
	b    []byte
	refs atomic.Int32
}

var reqBufPool = sync.Pool{New: func() any { return &reqBuf{b: make([]byte, 0, 1024)} }}

// maxPooledBuf keeps a rare huge body from pinning memory in the pool.
const maxPooledBuf = 64 << 10

// getReqBuf returns an empty buffer holding one reference, the owner's.
func getReqBuf() *reqBuf {
	rb := reqBufPool.Get().(*reqBuf)
	rb.b = rb.b[:0]
	rb.refs.Store(1)
	return rb
}

// release drops one reference and recycles the buffer after the last.
func (rb *reqBuf) release() {
	if rb.refs.Add(-1) == 0 && cap(rb.b) <= maxPooledBuf {
		reqBufPool.Put(rb)
	}
}

// respBuf is a pooled buffer for reading answers.
type respBuf struct{ b []byte }

var respBufPool = sync.Pool{New: func() any { return &respBuf{b: make([]byte, 0, 512)} }}

func getRespBuf() *respBuf {
	rb := respBufPool.Get().(*respBuf)
	rb.b = rb.b[:0]
	return rb
}

func putRespBuf(rb *respBuf) {
	if cap(rb.b) <= maxPooledBuf {
		respBufPool.Put(rb)
	}
}

// readAll appends r to rb.b, reading at most limit bytes; it reports
// errTooLarge when there is more.
func (rb *respBuf) readAll(r io.Reader, limit int) error {
	for {
		if len(rb.b) == cap(rb.b) {
			rb.b = append(rb.b, 0)[:len(rb.b)]
		}
		n, err := r.Read(rb.b[len(rb.b):cap(rb.b)])
		rb.b = rb.b[:len(rb.b)+n]
		if len(rb.b) > limit {
			return errTooLarge
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
