package outbox

import (
	"context"
	"errors"
)

// Errors of the outbox and its engines. Test for them with errors.Is.
var (
	// ErrNotFound means no job has the key (or it outlived the engine's
	// retention).
	ErrNotFound = errors.New("wxsub/outbox: no job with this key")
	// ErrNotCancellable means the job is being sent or was sent already,
	// so it can no longer be cancelled.
	ErrNotCancellable = errors.New("wxsub/outbox: job is being sent or has ended")
	// ErrKeyUsed means the key belonged to a job that has ended and is no
	// longer kept, so it cannot name a new one (its grant was settled).
	ErrKeyUsed = errors.New("wxsub/outbox: key was used by an earlier job")
	// ErrClosed means the outbox or its engine was closed.
	ErrClosed = errors.New("wxsub/outbox: closed")
	// ErrInvalidJob means a Schedule call or a job is malformed (an
	// empty key, say); nothing was reserved.
	ErrInvalidJob = errors.New("wxsub/outbox: invalid job")
)

// RunFunc runs one due job and returns it with its new state: a final
// Status, or StatusScheduled with At set to when it is to run again. A
// scheduled return with Attempts higher than the job it was handed is a
// retry after a failed send; with Attempts unchanged it is a wait (the
// rate limit, the daily budget, a 45009 pause), which an engine that
// counts failures must not count. Package outbox supplies the RunFunc;
// engines call it, with a context that ends only when the engine is
// closed in a hurry.
type RunFunc func(ctx context.Context, j Job) Job

// An Engine keeps scheduled jobs and runs them when due. It is the job
// queue under an Outbox: MemoryEngine in one process, or a distributed one
// such as package sender/outbox/asynqengine's on Redis. Package
// sender/outbox/outboxtest checks an implementation.
//
// An engine runs each job in at most one place at a time, across every
// process sharing it, and promises nothing about order beyond "not before
// At"; it may run Campaign jobs after due Transactional ones.
type Engine interface {
	// Add stores j (Status StatusScheduled), due at j.At, unless a job
	// with j.Key exists: then it stores nothing and returns that job with
	// created false. Two Adds of one key racing, on any instances, create
	// one job.
	Add(ctx context.Context, j Job) (job Job, created bool, err error)

	// Get returns the job with key as it stands, with Status
	// StatusSending while it runs; ErrNotFound when there is none.
	Get(ctx context.Context, key string) (Job, error)

	// Cancel ends a job that is not running and not final, with Status
	// StatusCancelled, atomically with respect to its being started, and
	// returns it. A job cancelled before is returned as it is, with a nil
	// error. A running or otherwise final job is returned with
	// ErrNotCancellable; a missing one gives ErrNotFound.
	Cancel(ctx context.Context, key string) (Job, error)

	// Save records the state of a job while the RunFunc holding it runs
	// (the outbox saves Status StatusSending and the attempt count before
	// each send), so that an instance taking the job over after a crash
	// knows that a send may have begun.
	Save(ctx context.Context, j Job) error

	// Start begins running due jobs with run, until Close. It may be
	// called once.
	Start(run RunFunc) error

	// Close stops starting jobs and waits, until ctx is done, for the
	// running ones. An engine that keeps nothing across processes (such
	// as MemoryEngine) cancels the jobs still scheduled and returns them,
	// so that the outbox gives their grants back; a durable engine keeps
	// them for another instance and returns none.
	Close(ctx context.Context) (dropped []Job, err error)
}
