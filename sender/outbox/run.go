package outbox

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/store"
)

// run is the Outbox's RunFunc: it sends one due job on its reserved grant
// and returns it final, or scheduled again for a retry or a wait.
func (o *Outbox) run(ctx context.Context, j Job) Job {
	if j.Status == StatusSending {
		// The job was saved as sending and handed out again: the
		// instance sending it died, perhaps after WeChat delivered it.
		// Sending again could deliver twice, so it ends as unknown.
		j.Error = "the instance sending it stopped mid-send"
		return o.finish(ctx, j, StatusUnknown, sender.SettlementFor(sender.ErrDeliveryUnknown))
	}
	if wait, err := o.take(ctx, j.Priority); err != nil || wait > 0 {
		if err != nil {
			o.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox: the limiter did not answer; the send waits",
				slog.String("key", j.Key), slog.Any("error", err))
			wait = o.base
		}
		return o.later(j, wait)
	}
	j.Attempts++
	j.Status = StatusSending
	j.Updated = o.now()
	if err := o.engine.Save(ctx, j); err != nil {
		// Without the mark a take-over could send twice: do not send.
		o.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox: cannot mark the job as sending; it waits",
			slog.String("key", j.Key), slog.Any("error", err))
		j.Attempts--
		j.Status = StatusScheduled
		return o.later(j, o.base)
	}
	msgID, err := o.client.SendReserved(ctx, j.Message, j.Receipt)
	if err == nil {
		j.MsgID, j.ErrCode, j.Error = msgID, 0, ""
		return o.finish(ctx, j, StatusDelivered, store.Kept)
	}
	j.Error = err.Error()
	j.ErrCode = 0
	var apiErr *sender.APIError
	if errors.As(err, &apiErr) {
		j.ErrCode = apiErr.Code
	}
	switch {
	case errors.Is(err, sender.ErrDeliveryUnknown):
		return o.finish(ctx, j, StatusUnknown, sender.SettlementFor(err))
	case j.ErrCode == sender.CodeQuota:
		// The app's daily quota is spent: every instance stops until
		// it resets, and no job fails for it.
		until := NextQuotaReset(o.now())
		if perr := o.limiter.Pause(ctx, until); perr != nil {
			o.log.LogAttrs(ctx, slog.LevelError, "wxsub/outbox: cannot pause the app after 45009",
				slog.String("key", j.Key), slog.Any("error", perr))
		}
		o.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox: WeChat's daily quota is spent (45009): sending paused",
			slog.String("key", j.Key), slog.Time("until", until))
		j.Status, j.At = StatusScheduled, until
		return j
	case retryable(err):
		d := o.backoff(j.Attempts)
		if o.now().Add(d).After(j.Deadline) {
			return o.finish(ctx, j, StatusFailed, store.Refunded)
		}
		o.log.LogAttrs(ctx, slog.LevelInfo, "wxsub/outbox: send failed, retrying",
			slog.String("key", j.Key), slog.Int("attempt", j.Attempts), slog.Duration("delay", d), slog.Any("error", err))
		return o.later(j, d)
	}
	return o.finish(ctx, j, StatusFailed, sender.SettlementFor(err))
}

// take asks the limiter for one send, sleeping through short waits.
func (o *Outbox) take(ctx context.Context, p Priority) (time.Duration, error) {
	for {
		wait, err := o.limiter.Take(ctx, p)
		if err != nil || wait <= 0 || wait > maxInlineWait {
			return wait, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
	}
}

// retryable reports a failed send that cannot have been delivered and may
// succeed later: WeChat busy (-1), a token it kept rejecting, too frequent
// (45011), an HTTP 429, or a request that never left this process (a
// failed dial, a cancelled context before the request was written).
func retryable(err error) bool {
	var apiErr *sender.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code == sender.CodeBusy || apiErr.Code == sender.CodeFrequency ||
			errors.Is(err, sender.ErrTokenInvalid)
	}
	var httpErr *sender.HTTPError
	if errors.As(err, &httpErr) {
		return httpErr.StatusCode == http.StatusTooManyRequests
	}
	if errors.Is(err, sender.ErrInvalidMessage) || errors.Is(err, sender.ErrInvalidData) {
		return false
	}
	// What is left is an error before the request was written (after
	// it, the sender reports ErrDeliveryUnknown): a network error, the
	// token source failing, or the context ending.
	return true
}

// backoff is the pause before the attempt after the n-th: base doubled
// per attempt, capped, less a random jitter of up to half.
func (o *Outbox) backoff(n int) time.Duration {
	d := o.base
	for i := 1; i < n && d < o.max; i++ {
		d *= 2
	}
	d = min(d, o.max)
	return d - rand.N(d/2+1)
}

// later hands j back to the engine, due after wait.
func (o *Outbox) later(j Job, wait time.Duration) Job {
	j.Status = StatusScheduled
	j.At = o.now().Add(wait)
	return j
}

// finish settles j's grant as s, gives it status st and reports it.
func (o *Outbox) finish(ctx context.Context, j Job, st Status, s store.Settlement) Job {
	o.settle(ctx, &j, s)
	j.Status = st
	j.Updated = o.now()
	o.ended(ctx, j)
	return j
}
