package middleware

import (
	"context"
	"errors"
	"testing"
	"time"
)

// startCtx is the context of a push that begins now, watched by w.
func startCtx(w *watchdog, parent context.Context, timeout time.Duration) *deadlineCtx {
	c := new(deadlineCtx)
	c.start(w, parent, time.Now(), timeout, nil)
	return c
}

// waitErr polls c.Err until it is not nil, without arming a timer.
func waitErr(t *testing.T, c *deadlineCtx) error {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if err := c.Err(); err != nil {
			return err
		}
	}
	t.Fatal("Err stayed nil long after the deadline")
	return nil
}

func TestDeadlineCtx(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")
	w := newWatchdog()
	// Before the deadline: with an hour to go, however slow the machine.
	start := time.Now()
	c := new(deadlineCtx)
	c.start(w, parent, start, time.Hour, nil)
	if d, ok := c.Deadline(); !ok || !d.Equal(start.Add(time.Hour)) {
		t.Errorf("Deadline() = %v, %v; want %v", d, ok, start.Add(time.Hour))
	}
	if c.Value(key{}) != "v" {
		t.Error("Value does not reach the parent")
	}
	if err := c.Err(); err != nil {
		t.Errorf("Err() before the deadline = %v", err)
	}
	if c.armed.Load() {
		t.Error("Err armed a timer")
	}
	c.release()

	// At the deadline.
	c = startCtx(w, parent, 50*time.Millisecond)
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done did not close at the deadline")
	}
	if !errors.Is(c.Err(), context.DeadlineExceeded) || c.Value(key{}) != "v" {
		t.Errorf("after the deadline: Err %v, Value %v", c.Err(), c.Value(key{}))
	}
	c.release()
	if !errors.Is(c.Err(), context.DeadlineExceeded) {
		t.Errorf("release after expiry changed Err to %v", c.Err())
	}
}

func TestDeadlineCtxUnarmedExpiry(t *testing.T) {
	c := startCtx(newWatchdog(), context.Background(), time.Millisecond)
	if err := waitErr(t, c); !errors.Is(err, context.DeadlineExceeded) || !c.ended() {
		t.Errorf("Err() = %v, want DeadlineExceeded without a timer", err)
	}
	if c.armed.Load() {
		t.Error("Err armed a timer")
	}
	c.release()
	if err := c.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("release after expiry changed Err to %v", err)
	}
	// Done asked for after the deadline is closed already.
	select {
	case <-c.Done():
	default:
		t.Error("Done after the deadline is open")
	}
}

func TestDeadlineCtxParent(t *testing.T) {
	w := newWatchdog()
	parent, cancel := context.WithCancel(context.Background())
	c := startCtx(w, parent, time.Hour)
	cancel()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("Err() after the parent ended = %v", c.Err())
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done did not follow the parent")
	}
	c.release()

	// A parent with an earlier deadline wins, and ends c itself: the
	// watchdog does not watch c.
	early, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	c = startCtx(w, early, time.Hour)
	want, _ := early.Deadline()
	if d, _ := c.Deadline(); !d.Equal(want) || c.listed || c.w != nil {
		t.Errorf("Deadline() = %v (watched %v), want the parent's %v, unwatched", d, c.listed, want)
	}
	if err := waitErr(t, c); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Err() after the parent's deadline = %v", err)
	}
	c.release()
}

func TestDeadlineCtxRelease(t *testing.T) {
	w := newWatchdog()
	// Released before anyone asked for Done: Err says Canceled, a later
	// Done is already closed, and the watchdog no longer holds it.
	c := startCtx(w, context.Background(), time.Hour)
	c.release()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("Err() after release = %v", c.Err())
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done after release is open")
	}
	if c.listed || w.head != nil {
		t.Error("a released context is still watched")
	}
	c.release() // twice is harmless

	// Released after Done was armed: the timer stops and Done closes.
	c = startCtx(w, context.Background(), time.Hour)
	done := c.Done()
	c.release()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("release did not close Done")
	}
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("Err() = %v, want Canceled", c.Err())
	}
}

func TestDeadlineCtxChild(t *testing.T) {
	c := startCtx(newWatchdog(), context.Background(), 20*time.Millisecond)
	child, cancel := context.WithCancel(c)
	defer cancel()
	select {
	case <-child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a child context did not end with its parent")
	}
	if !errors.Is(child.Err(), context.DeadlineExceeded) {
		t.Errorf("child Err() = %v", child.Err())
	}
}
