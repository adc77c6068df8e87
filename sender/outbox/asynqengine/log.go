package asynqengine

import (
	"context"
	"fmt"
	"log/slog"
)

// slogLogger adapts a *slog.Logger to asynq.Logger. asynq formats its
// messages with fmt.Sprint; they are logged with the attribute
// component=asynq. asynq's Fatal level is logged at slog.LevelError and
// does not exit the process (asynq v0.26 never calls it; an engine must
// not end the program it runs in).
type slogLogger struct{ l *slog.Logger }

func (s slogLogger) log(level slog.Level, args []any) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	s.l.LogAttrs(ctx, level, fmt.Sprint(args...), slog.String("component", "asynq"))
}

func (s slogLogger) Debug(args ...any) { s.log(slog.LevelDebug, args) }
func (s slogLogger) Info(args ...any)  { s.log(slog.LevelInfo, args) }
func (s slogLogger) Warn(args ...any)  { s.log(slog.LevelWarn, args) }
func (s slogLogger) Error(args ...any) { s.log(slog.LevelError, args) }
func (s slogLogger) Fatal(args ...any) { s.log(slog.LevelError, append([]any{"fatal: "}, args...)) }
