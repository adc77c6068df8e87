// Package outbox sends subscription messages later: at a time, or now but
// off the request path, and in bulk, reliably across a fleet.
//
// A scheduled send is a job under a key of the caller's choosing (an
// idempotency key such as "order-42-shipped"):
//
//	box, err := outbox.New(client, outbox.WithEngine(engine), outbox.WithLimiter(limiter))
//	job, created, err := box.Schedule(ctx, "order-42-shipped", msg, outbox.At(shipAt))
//	job, err = box.Status(ctx, "order-42-shipped")
//	job, err = box.Cancel(ctx, "order-42-shipped")
//
// # The reservation rule
//
// Schedule checks the message at once (sender.ErrInvalidMessage,
// sender.ErrInvalidData) and consumes the user's grant then, keeping its
// receipt with the job (sender.Client.Reserve): nothing else can spend it
// meanwhile, and a user without a grant gets sender.ErrNoGrant at
// scheduling, with no job. The due send spends that receipt
// (sender.Client.SendReserved) and never consumes a second grant. The
// reservation is recorded in the grant store under the job's key, so
// scheduling the same key again, on any instance, reserves nothing more
// and returns the existing job. Cancel ends a job that has not started and
// refunds its grant. The client's grant store must implement
// store.ReceiptStore, as the memory and Redis stores do.
//
// # Outcomes and retries
//
// Only what cannot have been delivered is retried, with exponential
// backoff and jitter (WithRetry), until the job's deadline (WithDeadline,
// Until); past it the job fails and its grant is refunded:
//
//	WeChat's answer                      job        grant      retried
//	ok                                   delivered  kept       -
//	-1 busy                              -          -          yes
//	45011 too frequent                   -          -          yes
//	40001/40014/42001 after a refresh    -          -          yes
//	HTTP 429; failure before writing     -          -          yes
//	45009 daily quota reached            -          -          paused until 00:00 CST, not failed
//	43101 user refused                   failed     revoked    no
//	other errcodes (40003, 40037, ...)   failed     refunded   no
//	no answer after writing (timeout,    unknown    refunded   never
//	dropped connection, 5xx)
//
// A send whose delivery is unknown (sender.ErrDeliveryUnknown) is never
// sent again: WeChat may have delivered it, and a second send could show
// the user the message twice. Its grant is settled as
// sender.SendSubscribe settles an unknown delivery.
//
// 45009 pauses every send of the app, on every instance sharing the
// Limiter, until the quota resets at midnight China Standard Time; the
// jobs wait and none fails for it. Waiting for the rate limit, the daily
// budget or a pause does not count against a job's deadline.
//
// # Engines and durability
//
// An Engine keeps the jobs and runs them when due, each in one place at a
// time. MemoryEngine, the default, serves one process: it keeps nothing
// across a crash or a restart, and Close cancels the jobs still scheduled
// and refunds their grants. Package sender/outbox/asynqengine keeps jobs
// in Redis with asynq, shared by a fleet: they survive restarts, and a
// crashed instance's jobs are taken over by another. Package
// sender/outbox/outboxtest checks an engine of your own.
//
// Before each attempt the run saves the job as sending. An engine that
// hands out a job saved as sending (its instance died mid-send) gets it
// back as unknown, not sent again, so a take-over never sends a message
// twice; it may leave unknown a message that never left, when the
// instance died after the mark and before the request was written.
//
// # The fleet's limit
//
// A Limiter shares one app's allowance across the fleet: a rate of sends
// a second with a burst, a daily budget of which campaigns may use a share
// (so that a campaign cannot eat the quota the day's transactional
// messages need), and the 45009 pause. MemoryLimiter (golang.org/x/time/
// rate) serves one process; package sender/outbox/redisfleet serves a
// fleet with go-redis/redis_rate. See Limits for the defaults and why.
//
// # Campaigns
//
// RunCampaign sends one template to many users, each with their own data,
// from an iterator (rows of your database, say), through the same jobs:
// one key per campaign and user, so a campaign run again after a crash
// sends nobody twice; users without a grant are counted and skipped
// without a WeChat call; progress and the final count of each outcome
// come from a Tally shared by the fleet.
package outbox
