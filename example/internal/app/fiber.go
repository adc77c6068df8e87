package app

import (
	"strings"
	"time"

	"github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"

	"github.com/wxsub/wxsub/adapters/fiberadapter"
)

// FiberApp returns a Fiber app with the example's routes, the same contract
// as Handler: /wechat/callback, POST /send, POST /schedule, GET and
// DELETE /schedule/:key, GET /grants, GET /healthz.
func (a *App) FiberApp() *fiber.App {
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
		var req SendRequest
		if err := json.Unmarshal(c.Body(), &req); err != nil {
			return writeFiberJSON(c, BadJSON(err))
		}
		return writeFiberJSON(c, a.Send(c.UserContext(), req))
	})
	f.Post("/schedule", func(c *fiber.Ctx) error {
		var req ScheduleRequest
		if err := json.Unmarshal(c.Body(), &req); err != nil {
			return writeFiberJSON(c, BadJSON(err))
		}
		return writeFiberJSON(c, a.Schedule(c.UserContext(), req))
	})
	f.Get("/schedule/:key", func(c *fiber.Ctx) error {
		return writeFiberJSON(c, a.ScheduleStatus(c.UserContext(), strings.Clone(c.Params("key"))))
	})
	f.Delete("/schedule/:key", func(c *fiber.Ctx) error {
		return writeFiberJSON(c, a.ScheduleCancel(c.UserContext(), strings.Clone(c.Params("key"))))
	})
	f.Get("/grants", func(c *fiber.Ctx) error {
		return writeFiberJSON(c, a.Grant(c.UserContext(), c.Query("openid"), c.Query("template_id")))
	})
	f.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok\n") })
	return f
}

func writeFiberJSON(c *fiber.Ctx, res Result) error {
	return c.Status(res.Status).JSON(res.Body)
}
