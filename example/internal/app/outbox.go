package app

import (
	"log/slog"

	"github.com/wxsub/wxsub/sender/outbox"
)

// newOutbox returns the app's Outbox: on a MemoryEngine, which keeps
// nothing across a restart.
func (a *App) newOutbox(cfg Config, log *slog.Logger) (*outbox.Outbox, error) {
	return outbox.New(a.Sender, outbox.WithLogger(log))
}
