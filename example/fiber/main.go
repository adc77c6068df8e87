// Command fiber serves the example app with Fiber: the WeChat callback route
// at /wechat/callback, POST /send, GET /grants and GET /healthz, the same
// contract as example/nethttp. It is configured by environment variables;
// see the README.
package main

import (
	"context"
	"os"
	"time"

	"github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"

	"github.com/wxsub/wxsub/adapters/fiberadapter"
	"github.com/wxsub/wxsub/example/internal/app"
)

func main() {
	os.Exit(app.Main("fiber", serve))
}

// Routes returns a Fiber app with the example's routes.
func Routes(a *app.App) *fiber.App {
	f := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		BodyLimit:             int(a.Endpoint.MaxBodyBytes()) + 1,
		JSONEncoder:           json.Marshal,
		JSONDecoder:           json.Unmarshal,
		ReadTimeout:           10 * time.Second,
	})
	callback := fiberadapter.New(fiberadapter.Config{Endpoint: a.Endpoint})
	f.Get("/wechat/callback", callback)
	f.Post("/wechat/callback", callback)
	f.Post("/send", func(c *fiber.Ctx) error {
		var req app.SendRequest
		if err := json.Unmarshal(c.Body(), &req); err != nil {
			return writeJSON(c, app.BadJSON(err))
		}
		return writeJSON(c, a.Send(c.UserContext(), req))
	})
	f.Get("/grants", func(c *fiber.Ctx) error {
		return writeJSON(c, a.Grant(c.UserContext(), c.Query("openid"), c.Query("template_id")))
	})
	f.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	return f
}

func writeJSON(c *fiber.Ctx, res app.Result) error {
	return c.Status(res.Status).JSON(res.Body)
}

func serve(ctx context.Context, a *app.App, addr string) error {
	f := Routes(a)
	errc := make(chan error, 1)
	go func() { errc <- f.Listen(addr) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	return f.ShutdownWithTimeout(10 * time.Second)
}
