package app

import (
	"log/slog"

	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/sender/outbox/asynqengine"
	"github.com/wxsub/wxsub/sender/outbox/redisfleet"
)

// newOutbox returns the app's Outbox: on a MemoryEngine, which keeps
// nothing across a restart, or, with REDIS_URL, on asynq in Redis with the
// rate limit, daily budget and 45009 pause shared by every instance.
func (a *App) newOutbox(cfg Config, log *slog.Logger) (*outbox.Outbox, error) {
	opts := []outbox.Option{outbox.WithLogger(log)}
	if a.redis != nil {
		prefix := "wxsub:" + cfg.AppID
		engine, err := asynqengine.New(a.redis, asynqengine.Config{Prefix: prefix, Logger: log})
		if err != nil {
			return nil, err
		}
		limiter, err := redisfleet.NewLimiter(a.redis, prefix, outbox.Limits{})
		if err != nil {
			return nil, err
		}
		tally, err := redisfleet.NewTally(a.redis, prefix)
		if err != nil {
			return nil, err
		}
		opts = append(opts, outbox.WithEngine(engine), outbox.WithLimiter(limiter), outbox.WithTally(tally))
	}
	return outbox.New(a.Sender, opts...)
}
