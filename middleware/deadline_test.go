package middleware

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDeadlineCtx(t *testing.T) {
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "v")
	c := withTimeout(parent, 50*time.Millisecond)
	if d, ok := c.Deadline(); !ok || time.Until(d) > 50*time.Millisecond || time.Until(d) < 30*time.Millisecond {
		t.Errorf("Deadline() = %v, %v", d, ok)
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
	c := withTimeout(context.Background(), time.Millisecond)
	time.Sleep(5 * time.Millisecond)
	if !errors.Is(c.Err(), context.DeadlineExceeded) || !c.expired() {
		t.Errorf("Err() = %v, want DeadlineExceeded without a timer", c.Err())
	}
}

func TestDeadlineCtxParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	c := withTimeout(parent, time.Hour)
	cancel()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("Err() after the parent ended = %v", c.Err())
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done did not follow the parent")
	}

	// A parent with an earlier deadline wins.
	early, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	c = withTimeout(early, time.Hour)
	want, _ := early.Deadline()
	if d, _ := c.Deadline(); !d.Equal(want) || c.timeout > time.Second {
		t.Errorf("Deadline() = %v (timeout %v), want the parent's %v", d, c.timeout, want)
	}
}

func TestDeadlineCtxRelease(t *testing.T) {
	// Released before anyone asked for Done: Err says Canceled and a later
	// Done is already closed.
	c := withTimeout(context.Background(), time.Hour)
	c.release()
	if !errors.Is(c.Err(), context.Canceled) {
		t.Errorf("Err() after release = %v", c.Err())
	}
	select {
	case <-c.Done():
	default:
		t.Error("Done after release is open")
	}

	// Released after Done was armed: the timer stops and Done closes.
	c = withTimeout(context.Background(), time.Hour)
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
	c := withTimeout(context.Background(), 20*time.Millisecond)
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
