package fiberadapter

import (
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/wxsub/wxsub/internal/adaptertest"
)

// BenchmarkRoundTrip measures a push's round trip over loopback through
// the adapter and the whole Endpoint, against a bare Fiber handler that
// reads the body and writes "success".
func BenchmarkRoundTrip(b *testing.B) {
	b.Run("wxsub", func(b *testing.B) {
		app := newApp()
		app.Post(adaptertest.BenchPath, New(Config{Endpoint: adaptertest.BenchEndpoint(b)}))
		adaptertest.RoundTrips(b, strings.TrimPrefix(listen(b, app), "http://"))
	})
	b.Run("bare", func(b *testing.B) {
		app := newApp()
		app.Post(adaptertest.BenchPath, func(c *fiber.Ctx) error {
			if len(c.Body()) == 0 {
				return fiber.ErrBadRequest
			}
			c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
			return c.SendString("success")
		})
		adaptertest.RoundTrips(b, strings.TrimPrefix(listen(b, app), "http://"))
	})
}
