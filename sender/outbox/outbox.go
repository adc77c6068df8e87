package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/store"
)

// Defaults of an Outbox.
const (
	// DefaultDeadline is how long after its due time a job may be retried.
	DefaultDeadline = time.Hour
	// DefaultRetryBase and DefaultRetryMax bound the pause between two
	// attempts: the base doubled per attempt, up to the max, less a
	// random jitter of up to half.
	DefaultRetryBase = time.Second
	DefaultRetryMax  = 5 * time.Minute
	// reservationKeep is how long past a job's deadline its reservation
	// (the grant store's operation record) is kept, so that the job can
	// still be settled and its key still recognised.
	reservationKeep = 7 * 24 * time.Hour
	// maxInlineWait is the longest wait for the rate limit a run sleeps
	// through; a longer one (a pause, a spent budget) hands the job back
	// to the engine, due when the wait ends.
	maxInlineWait = 2 * time.Second
)

// Outbox schedules subscription messages for later, on an Engine, and
// sends them when due under a Limiter shared by the fleet. Create one per
// app (per sender.Client) with New, and Close it on shutdown. Its methods
// are safe for concurrent use.
type Outbox struct {
	client   *sender.Client
	engine   Engine
	limiter  Limiter
	tally    Tally
	log      *slog.Logger
	now      func() time.Time
	deadline time.Duration
	base     time.Duration
	max      time.Duration
	onEnd    func(context.Context, Job)
}

// Option configures an Outbox.
type Option func(*Outbox)

// WithEngine sets the job queue. The default is a MemoryEngine, which
// keeps nothing across a crash: use a durable engine in production.
func WithEngine(e Engine) Option { return func(o *Outbox) { o.engine = e } }

// WithLimiter sets the app's sending allowance. The default is a
// MemoryLimiter with the default Limits, right for one instance only.
func WithLimiter(l Limiter) Option { return func(o *Outbox) { o.limiter = l } }

// WithTally sets where campaign outcomes are counted. The default is a
// MemoryTally, right for one instance only.
func WithTally(t Tally) Option { return func(o *Outbox) { o.tally = t } }

// WithLogger sets the logger (default: none).
func WithLogger(l *slog.Logger) Option { return func(o *Outbox) { o.log = l } }

// WithDeadline sets how long after its due time a job may still be
// retried (DefaultDeadline). Past it, a job that fails again ends failed
// and its grant is refunded. Waiting for the rate limit, the daily budget
// or a 45009 pause does not count against it.
func WithDeadline(d time.Duration) Option { return func(o *Outbox) { o.deadline = d } }

// WithRetry sets the pause before a retry: base doubled per attempt, up to
// max, less a random jitter of up to half.
func WithRetry(base, max time.Duration) Option {
	return func(o *Outbox) { o.base, o.max = base, max }
}

// WithClock sets the clock of deadlines, retries and pauses (time.Now);
// tests pass their own.
func WithClock(now func() time.Time) Option { return func(o *Outbox) { o.now = now } }

// OnEnd sets a function called when a job this instance runs, cancels or
// drops reaches a final status, after its grant was settled. It runs on
// the goroutine that ended the job; keep it short.
func OnEnd(f func(ctx context.Context, j Job)) Option { return func(o *Outbox) { o.onEnd = f } }

// New returns an Outbox sending with c, and starts its engine. c must
// have a grant store implementing store.ReceiptStore (the memory and Redis
// stores do): a job reserves its grant when it is scheduled.
func New(c *sender.Client, opts ...Option) (*Outbox, error) {
	if c == nil {
		return nil, errors.New("wxsub/outbox: New: nil sender.Client")
	}
	if _, ok := c.GrantStore().(store.ReceiptStore); !ok {
		return nil, fmt.Errorf("wxsub/outbox: New: %w (give the Client sender.WithGrantStore with one)", sender.ErrNoReceiptStore)
	}
	o := &Outbox{client: c, deadline: DefaultDeadline, base: DefaultRetryBase, max: DefaultRetryMax, now: time.Now}
	for _, opt := range opts {
		if opt != nil {
			opt(o)
		}
	}
	switch {
	case o.deadline <= 0:
		return nil, fmt.Errorf("wxsub/outbox: WithDeadline: %v, want a positive duration", o.deadline)
	case o.base <= 0 || o.max < o.base:
		return nil, fmt.Errorf("wxsub/outbox: WithRetry: base %v, max %v: want 0 < base <= max", o.base, o.max)
	case o.now == nil:
		return nil, errors.New("wxsub/outbox: WithClock: nil clock")
	}
	if o.engine == nil {
		o.engine = NewMemoryEngine(MemoryOptions{})
	}
	if o.limiter == nil {
		o.limiter = NewMemoryLimiter(Limits{}, o.now)
	}
	if o.tally == nil {
		o.tally = NewMemoryTally()
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if err := o.engine.Start(o.run); err != nil {
		return nil, fmt.Errorf("wxsub/outbox: starting the engine: %w", err)
	}
	return o, nil
}

// ScheduleOption sets a detail of one scheduled send.
type ScheduleOption func(*Job)

// At makes the job due at t (default: now).
func At(t time.Time) ScheduleOption { return func(j *Job) { j.At = t } }

// WithPriority sets the job's priority (default Transactional).
func WithPriority(p Priority) ScheduleOption { return func(j *Job) { j.Priority = p } }

// Until sets the job's deadline for retries (default: its due time plus
// the Outbox's WithDeadline).
func Until(t time.Time) ScheduleOption { return func(j *Job) { j.Deadline = t } }

// InCampaign files the job under campaign id, whose outcomes the Tally
// counts; it also makes the job a Campaign one.
func InCampaign(id string) ScheduleOption {
	return func(j *Job) { j.Campaign, j.Priority = id, Campaign }
}

// Schedule validates m, reserves a grant for it and schedules it under
// key, an idempotency key of the caller's ("order-42-shipped"). It returns
// the job, and whether this call created it.
//
// The message is checked at once (sender.ErrInvalidMessage,
// sender.ErrInvalidData). The grant is consumed now and kept with the job,
// so nothing else can spend it; without one, Schedule returns
// sender.ErrNoGrant and schedules nothing. Scheduling a key that names a
// job already, on any instance sharing the engine and the grant store,
// reserves nothing more and returns that job with created false, whatever
// its state. A key whose job ended longer ago than the engine keeps it
// gives ErrKeyUsed.
func (o *Outbox) Schedule(ctx context.Context, key string, m sender.SubscribeMessage, opts ...ScheduleOption) (Job, bool, error) {
	if key == "" {
		return Job{}, false, fmt.Errorf("%w: empty key", ErrInvalidJob)
	}
	now := o.now()
	j := Job{Key: key, Message: m, At: now, Status: StatusScheduled}
	for _, opt := range opts {
		if opt != nil {
			opt(&j)
		}
	}
	if err := o.client.ValidateSubscribe(m); err != nil {
		return Job{}, false, err
	}
	// No look-up first: the reservation is exactly once per key, so for
	// a key that names a job already it returns that job's receipt and
	// takes nothing, and Add then returns the job.
	j.Due = j.At
	if j.Deadline.IsZero() {
		j.Deadline = j.At.Add(o.deadline)
	}
	opTTL := max(j.Deadline.Sub(now), 0) + reservationKeep
	r, settled, err := o.client.Reserve(ctx, reservationKey(key), opTTL, m)
	if err != nil {
		// The key may name a job for another user or template, whose
		// reservation is not this one: that job is the answer.
		if have, gerr := o.engine.Get(ctx, key); gerr == nil {
			return have, false, nil
		}
		return Job{}, false, err
	}
	j.Receipt, j.Updated = r, now
	if settled != store.Unsettled {
		// The key reserved a grant before, and that reservation was
		// settled: its job ended. Another instance may just have
		// ended it; otherwise the engine no longer keeps it.
		if have, err := o.engine.Get(ctx, key); err == nil {
			return have, false, nil
		}
		return Job{}, false, fmt.Errorf("%w: %q (its grant was %s)", ErrKeyUsed, key, settled)
	}
	have, created, err := o.engine.Add(ctx, j)
	if err != nil {
		// The reservation stays: scheduling the key again finds it and
		// adds the job. Give it back only when the job surely was not
		// added, or nothing would ever spend it.
		if _, gerr := o.engine.Get(ctx, key); errors.Is(gerr, ErrNotFound) {
			o.settle(ctx, &j, store.Refunded)
		}
		return Job{}, false, fmt.Errorf("wxsub/outbox: scheduling %q: %w", key, err)
	}
	if !created && have.Receipt != j.Receipt {
		// The key named a job of another user (reservations are per
		// user), so this call reserved a grant of its own: give it back.
		o.settle(ctx, &j, store.Refunded)
	}
	return have, created, nil
}

// reservationKey is the grant store's operation key of a job's
// reservation.
func reservationKey(key string) string { return "outbox:" + key }

// Status returns the job with key as it stands, or ErrNotFound.
func (o *Outbox) Status(ctx context.Context, key string) (Job, error) {
	j, err := o.engine.Get(ctx, key)
	if err != nil {
		return Job{}, err
	}
	if j.Status == StatusCancelled && j.Settlement == store.Unsettled {
		// Cancel refunds after the engine cancelled the job; if the
		// instance died in between, the refund is made here (Settle is
		// exactly once, so this never gives back a second grant).
		o.settle(ctx, &j, store.Refunded)
	}
	return j, nil
}

// Cancel cancels the job with key and refunds its grant. It returns the
// cancelled job; ErrNotFound when there is none; ErrNotCancellable, with
// the job, when it is being sent or has ended. Cancelling a cancelled job
// returns it with a nil error.
func (o *Outbox) Cancel(ctx context.Context, key string) (Job, error) {
	j, err := o.engine.Cancel(ctx, key)
	if err != nil {
		return j, err
	}
	o.settle(ctx, &j, store.Refunded)
	o.ended(ctx, j)
	return j, nil
}

// Close stops the engine: running sends finish (until ctx is done). The
// jobs a non-durable engine drops are cancelled and their grants refunded.
func (o *Outbox) Close(ctx context.Context) error {
	dropped, err := o.engine.Close(ctx)
	for _, j := range dropped {
		o.settle(ctx, &j, store.Refunded)
		o.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox: scheduled send cancelled at Close: the engine keeps nothing",
			slog.String("key", j.Key), slog.String("openid", j.Message.ToUser),
			slog.String("template_id", j.Message.TemplateID), slog.Time("at", j.At))
		o.ended(ctx, j)
	}
	return err
}

// settle settles j's reservation as s and records the settlement in
// force on j. Failures are logged by the sender.
func (o *Outbox) settle(ctx context.Context, j *Job, s store.Settlement) {
	got, err := o.client.Settle(ctx, j.Receipt, s)
	if err != nil {
		return
	}
	j.Settlement = got
	if got != s {
		o.log.LogAttrs(ctx, slog.LevelWarn, "wxsub/outbox: the job's grant was settled before",
			slog.String("key", j.Key), slog.String("settlement", got.String()), slog.String("wanted", s.String()))
	}
}

// ended reports a final job to the Tally and the OnEnd function.
func (o *Outbox) ended(ctx context.Context, j Job) {
	if j.Campaign != "" {
		if _, err := o.tally.Record(context.WithoutCancel(ctx), j.Campaign, j.Key, outcomeOf(j)); err != nil {
			o.log.LogAttrs(ctx, slog.LevelError, "wxsub/outbox: counting a campaign outcome",
				slog.String("campaign", j.Campaign), slog.String("key", j.Key), slog.Any("error", err))
		}
	}
	if o.onEnd != nil {
		o.onEnd(ctx, j)
	}
}

// outcomeOf maps a final job to its campaign outcome.
func outcomeOf(j Job) Outcome {
	switch j.Status {
	case StatusDelivered:
		return OutcomeDelivered
	case StatusUnknown:
		return OutcomeUnknown
	case StatusCancelled:
		return OutcomeCancelled
	}
	if j.ErrCode == sender.CodeUserRefused {
		return OutcomeRefused
	}
	return OutcomeFailed
}
