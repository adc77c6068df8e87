package asynqengine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"github.com/wxsub/wxsub/sender/outbox"
)

// dueAgain is what the handler returns to asynq when the job is to run
// again at a time of its own (by the engine's clock): after the run asked
// for it (StatusScheduled with At), while the engine closes, or while a
// task waits for its record. asynq's retry machinery then holds the task:
// retryDelay reads the time,
// and isFailure tells asynq that this is not a failure, so it neither
// counts it against the task's retries nor in the queue's failure stats.
type dueAgain struct{ at time.Time }

func (d dueAgain) Error() string {
	return "wxsub/outbox/asynqengine: the job is due again at " + d.at.UTC().Format(time.RFC3339Nano)
}

// retryDelay is the engine's asynq.RetryDelayFunc.
func (e *Engine) retryDelay(n int, err error, t *asynq.Task) time.Duration {
	var d dueAgain
	switch {
	case errors.As(err, &d):
		// Due after the span d.at lies ahead by the engine's clock, in
		// asynq's real time, rounded up: asynq keeps due times in whole
		// seconds.
		return max(time.Until(ceilSecond(time.Now().Add(e.until(d.at)))), 0)
	case errors.Is(err, asynq.ErrLeaseExpired):
		// The instance holding the job stopped; asynq's recoverer has
		// waited past the lease already. Take it over at once.
		return 0
	case errors.Is(err, context.Canceled):
		// The run was cut short (Close, or an asynq cancel).
		return time.Second
	}
	return asynq.DefaultRetryDelayFunc(n, err, t)
}

// isFailure is the engine's asynq IsFailure: anything but dueAgain.
func isFailure(err error) bool {
	var d dueAgain
	return !errors.As(err, &d)
}

// process is the asynq handler of the engine's tasks: it takes the job for
// this run, calls the RunFunc with the job as last written, and records
// what the run returned.
//
// A returned error is either dueAgain or a failure of the engine (Redis
// not answering), which asynq retries with its backoff; the job's record
// then still holds what the last Save wrote, so the next run sees it.
func (e *Engine) process(ctx context.Context, t *asynq.Task) error {
	if !e.enter() {
		// Closing: hand the task back for another instance.
		return dueAgain{at: e.cfg.Now()}
	}
	defer e.leave()
	key, _ := asynq.GetTaskID(ctx)
	q, _ := asynq.GetQueueName(ctx)
	var p taskPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		e.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox/asynqengine: task payload unreadable",
			slog.String("key", key), slog.String("queue", q), slog.Any("error", err))
	}
	run := e.newRunID()
	rk := []string{e.recordKey(key)}
	var job outbox.Job
	for waited := false; ; waited = true {
		res, err := startScript.Run(ctx, e.rdb, rk, q, run, e.cfg.Now().UnixMilli()).StringSlice()
		if err != nil || len(res) == 0 {
			return fmt.Errorf("wxsub/outbox/asynqengine: taking job %q: %w", key, err)
		}
		switch res[0] {
		case "missing":
			// Add enqueues the task before it writes the record, so a
			// task due at once can run first: wait for the record. A
			// task older than orphanGrace has none (its Add failed
			// after enqueueing, and reported it): drop it.
			age := time.Since(p.Added)
			if age < orphanGrace {
				return dueAgain{at: e.cfg.Now().Add(min(max(age/4, time.Second), time.Minute))}
			}
			e.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox/asynqengine: dropping a task whose job has no record",
				slog.String("key", key), slog.String("queue", q), slog.Time("added", p.Added))
			return nil
		case "other":
			e.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox/asynqengine: the key names a job in another queue; this task ends",
				slog.String("key", key), slog.String("queue", q), slog.String("job_queue", at(res, 1)))
			return nil
		case "final":
			// Cancelled before this task started, or run again from
			// asynqmon or the CLI after it ended: nothing to do.
			e.writeResult(ctx, t, at(res, 2))
			return nil
		case "early":
			due := unixMilli(at(res, 1))
			if d := e.until(due); !waited && d <= earlyWait {
				if !sleep(ctx, d) {
					return dueAgain{at: due}
				}
				continue
			}
			return dueAgain{at: due}
		case "run":
			if err := json.Unmarshal([]byte(at(res, 2)), &job); err != nil {
				// Not a failure the queue can cure: keep the task
				// visible in asynq's archive and say why.
				e.log.LogAttrs(ctx, slog.LevelError, "wxsub/outbox/asynqengine: job record unreadable; task archived",
					slog.String("key", key), slog.Any("error", err))
				return fmt.Errorf("wxsub/outbox/asynqengine: job %q: decoding its record: %w: %w", key, err, asynq.SkipRetry)
			}
			job.Status = outbox.Status(at(res, 1))
			if prev := at(res, 3); prev != "" {
				e.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox/asynqengine: taking over a job from a run that did not finish",
					slog.String("key", key), slog.String("previous_run", prev), slog.String("saved_status", string(job.Status)),
					slog.Int("attempts", job.Attempts))
			}
		default:
			return fmt.Errorf("wxsub/outbox/asynqengine: taking job %q: unexpected answer %q", key, res)
		}
		break
	}

	out := e.run(context.WithValue(ctx, runKey{}, run), job)
	out.Key = key
	if !out.Status.Final() && out.Status != outbox.StatusScheduled {
		e.log.LogAttrs(ctx, slog.LevelError, "wxsub/outbox/asynqengine: the run returned an open status; the job ends as unknown",
			slog.String("key", key), slog.String("status", string(out.Status)))
		out.Error = fmt.Sprintf("the run returned status %q", out.Status)
		out.Status = outbox.StatusUnknown
	}
	if out.Status == outbox.StatusScheduled && out.At.IsZero() {
		out.At = e.cfg.Now()
	}
	var ttl time.Duration
	if out.Status.Final() {
		ttl = e.cfg.Retention
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if err := e.write(wctx, run, out, true, ttl); err != nil {
		if errors.Is(err, ErrNotHolder) || errors.Is(err, outbox.ErrNotFound) {
			e.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox/asynqengine: a run's result was not recorded: the job was taken over",
				slog.String("key", key), slog.String("status", string(out.Status)), slog.String("msgid", out.MsgID))
			return nil
		}
		e.log.LogAttrs(ctx, slog.LevelError, "wxsub/outbox/asynqengine: a run's result was not recorded; the job runs again and sees its last saved state",
			slog.String("key", key), slog.String("status", string(out.Status)), slog.String("msgid", out.MsgID), slog.Any("error", err))
		return err
	}
	if out.Status.Final() {
		body, _ := json.Marshal(out)
		e.writeResult(ctx, t, string(body))
		return nil
	}
	return dueAgain{at: out.At}
}

// writeResult shows the final job as the task's result in asynqmon and
// the CLI. The record is the truth; a failure here is only logged.
func (e *Engine) writeResult(ctx context.Context, t *asynq.Task, job string) {
	if job == "" {
		return
	}
	if _, err := t.ResultWriter().Write([]byte(job)); err != nil {
		e.log.LogAttrs(ctx, slog.LevelDebug, "wxsub/outbox/asynqengine: writing the task result",
			slog.String("task", t.ResultWriter().TaskID()), slog.Any("error", err))
	}
}

// at returns res[i], or "".
func at(res []string, i int) string {
	if i < len(res) {
		return res[i]
	}
	return ""
}

// sleep waits d, or until ctx is done (false).
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
