package loadtest

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// logCounter is a slog.Handler that counts the records an app logs: its
// hooks log one line per event item, so the counts tell how often hooks
// ran; warnings and errors are kept for the failure message.
type logCounter struct {
	mu       sync.Mutex
	messages map[string]int
	problems []string
	bad      atomic.Int64
}

func newLogCounter() *logCounter { return &logCounter{messages: map[string]int{}} }

// Logger returns a logger writing to c.
func (c *logCounter) Logger() *slog.Logger { return slog.New(c) }

// Count returns how many records had the message msg.
func (c *logCounter) Count(msg string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.messages[msg]
}

// Problems returns how many warnings and errors were logged, and the first few.
func (c *logCounter) Problems() (int64, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.bad.Load(), strings.Join(c.problems, "\n")
}

func (c *logCounter) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCounter) Handle(_ context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.messages[r.Message]++
	if r.Level >= slog.LevelWarn {
		c.bad.Add(1)
		if len(c.problems) < 5 {
			var b strings.Builder
			b.WriteString(r.Message)
			r.Attrs(func(a slog.Attr) bool {
				b.WriteString(" " + a.String())
				return true
			})
			c.problems = append(c.problems, b.String())
		}
	}
	return nil
}

func (c *logCounter) WithAttrs([]slog.Attr) slog.Handler { return c }
func (c *logCounter) WithGroup(string) slog.Handler      { return c }
