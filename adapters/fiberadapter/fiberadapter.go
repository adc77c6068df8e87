// Package fiberadapter mounts a wxsub callback route in a Fiber (v2) app,
// in the style of Fiber's own middleware:
//
//	app.All("/wechat/callback", fiberadapter.New(fiberadapter.Config{Endpoint: e}))
//
// It reads the underlying fasthttp request directly, never through Fiber's
// net/http adaptor, and carries it to middleware.Endpoint.Serve, which
// makes every protocol decision.
package fiberadapter

import (
	"github.com/gofiber/fiber/v2"

	"github.com/wxsub/wxsub/adapters/fasthttpadapter"
	"github.com/wxsub/wxsub/middleware"
)

// Config defines the config for the adapter.
type Config struct {
	// Next defines a function to skip this middleware when it returns
	// true.
	//
	// Optional. Default: nil
	Next func(c *fiber.Ctx) bool

	// Endpoint is the callback route to serve.
	//
	// Required.
	Endpoint *middleware.Endpoint
}

// ConfigDefault is the default config: New fills a Config's empty
// optional fields from it, as Fiber's own middleware does. It has no
// Endpoint, which every Config must give.
var ConfigDefault = Config{
	Next: nil,
}

// configDefault returns config with its empty optional fields taken from
// ConfigDefault (Fiber's configDefault pattern).
func configDefault(config Config) Config {
	if config.Next == nil {
		config.Next = ConfigDefault.Next
	}
	return config
}

// New returns a fiber.Handler serving config's Endpoint. Hooks get the
// request's c.UserContext(). With the app's StreamRequestBody option, at
// most Endpoint.MaxBodyBytes()+1 bytes of a streamed body are read (see
// fasthttpadapter.New); otherwise set the app's BodyLimit near that limit.
//
// Unlike most of Fiber's middleware, New takes exactly one Config, not a
// variadic one: the Endpoint is required, so there is no config to default
// to, and New() does not compile rather than fail at startup. New panics
// when config has no Endpoint, like Fiber's middleware missing a required
// field: that is a programming error found at startup, never a reaction
// to a request.
func New(config Config) fiber.Handler {
	cfg := configDefault(config)
	if cfg.Endpoint == nil {
		panic("wxsub/fiberadapter: Config.Endpoint is required")
	}
	h, next := fasthttpadapter.NewHandler(cfg.Endpoint), cfg.Next
	return func(c *fiber.Ctx) error {
		if next != nil && next(c) {
			return c.Next()
		}
		h.Serve(c.UserContext(), c.Context())
		return nil
	}
}
