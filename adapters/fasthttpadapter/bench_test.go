package fasthttpadapter

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/wxsub/wxsub/internal/adaptertest"
)

// BenchmarkRoundTrip measures a push's round trip over loopback through
// the adapter and the whole Endpoint, against a bare fasthttp handler that
// reads the body and writes "success".
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("wxsub", func(b *testing.B) {
		adaptertest.RoundTrips(b, serve(b, New(adaptertest.BenchEndpoint(b))))
	})
	b.Run("bare", func(b *testing.B) {
		adaptertest.RoundTrips(b, serve(b, func(ctx *fasthttp.RequestCtx) {
			if len(ctx.PostBody()) == 0 {
				ctx.Error("empty body", fasthttp.StatusBadRequest)
				return
			}
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBodyString("success")
		}))
	})
}
