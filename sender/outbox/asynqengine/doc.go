// Package asynqengine is an outbox.Engine on github.com/hibiken/asynq and
// Redis: durable, and shared by every instance of an app. Jobs survive
// restarts and crashes; each runs in one place at a time across the fleet;
// an instance that stops mid-run has its jobs taken over by another.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}) // the app's client, shared
//	eng, err := asynqengine.New(rdb, asynqengine.Config{Prefix: "wxsub:" + appID})
//	...
//	ob, err := outbox.New(client, outbox.WithEngine(eng), outbox.WithLimiter(lim), outbox.WithTally(tally))
//
// with lim and tally from package sender/outbox/redisfleet, so that the
// rate limit and the campaign counts are the fleet's too.
//
// # What asynq does, and what the engine adds
//
// Each job is an asynq task whose id is the job's key, in one of two queues
// per app: Prefix+":tx" for transactional jobs and Prefix+":campaign" for
// campaign ones, weighted 9 to 1 (Config) so that due transactional jobs go
// first. asynq does the scheduling (ProcessAt), the ready lists, the
// workers, the leases that hand a crashed instance's tasks to another, the
// retries (a run that returns StatusScheduled hands its task back through
// asynq's retry machinery, due at the job's new At, and not counted as a
// failure), the retention of ended tasks, and the view of the queues that
// asynqmon and the CLI show. The final job is written as the task's result.
//
// Next to each task the engine keeps a job record, a Redis hash under
// Prefix+":job:"+key, written only by small Lua scripts of its own (see
// scripts.go). The record is the job's truth: its latest state as Save and
// the runs wrote it, and which run holds it. It exists because asynq
// cannot keep these facts atomic with a task's state through its API:
//
//   - Cancel. asynq's Inspector ArchiveTask and DeleteTask refuse only an
//     active task: a task that ran to completion between a status check
//     and the call is archived or deleted all the same, so a delivered job
//     would read cancelled and have its grant refunded. Archiving also
//     trims the archive to 10,000 tasks, and the Inspector's trim leaves
//     the trimmed tasks' hashes behind, never expiring. The engine instead
//     cancels in the record, by a script that refuses while a run holds
//     the job; a run takes the job by a script on the same record that
//     refuses a cancelled one. Exactly one of the two wins. The task is
//     then deleted; if it was about to run, its run finds the job
//     cancelled and ends.
//   - Keys across queues. Task ids are unique per asynq queue, and the two
//     priorities are two queues. Add enqueues the task and then creates
//     the record, once per key: a second Add of the key, on any instance
//     and at any priority, finds the record and returns that job, and
//     deletes the task it enqueued if it is not needed. A task whose key's
//     record names the other queue ends without running.
//   - The run's hold. Save and the run's result are written only while the
//     run that makes them holds the job (the record names it), so a run
//     whose job was taken over can no longer mark it, and its result is
//     not recorded (ErrNotHolder).
//
// Add thus costs two round trips (the enqueue and the record), Get one.
// Get reads the record alone: a job whose Add failed after enqueueing
// reads as absent (as Add's error said), and its task, finding no record,
// waits up to five minutes for it (Add's record may simply follow the
// task) and then ends without running. A final job's record and task are
// kept for Config.Retention (a week by default); after that the key is
// free and may name a new job.
//
// Due times: asynq keeps them in whole seconds, so a job is enqueued due
// at its At rounded up to the second, and a job due within a second is
// made ready at once and waits for its At in its run: no job starts before
// its At by this instance's clock (Config.Now, which a test that moves
// time shares with the outbox and the limiter; asynq is told the span to
// wait, in real time). An idle engine looks for due jobs every
// Config.PollInterval (a second by default), so a job starts up to that
// late, and later when the workers are busy.
//
// # Take-over, and when a message can be sent twice
//
// asynq gives a running task a lease of 30 seconds, which the instance
// renews every 5 seconds. An instance that crashes, is killed, freezes, or
// cannot reach Redis for 30 seconds loses its leases (its own runs'
// contexts are then cancelled), and asynq's recoverer, which looks every
// minute for leases that ran out more than 30 seconds ago, hands the tasks
// back: another instance runs them 60 to 120 seconds after the stop. These
// times are asynq's constants (v0.26); the engine cannot shorten them.
//
// Before a run calls the outbox's RunFunc, it reads the job's record as
// last written, so a take-over sees what the stopped run saved. The outbox
// saves the job with StatusSending (and the attempt counted) before each
// send and does not send when that Save fails; a run handed a job saved as
// sending ends it as unknown without sending. So:
//
//   - A crash after the send (delivered at WeChat, not yet recorded): the
//     take-over sees sending and ends the job unknown. One message was
//     sent; the job reads unknown (its grant settled as for an unknown
//     delivery).
//   - A crash between the Save and the send: the job ends unknown though
//     nothing was sent.
//   - A crash before the Save: nothing was sent, and the take-over sends.
//   - A run that lost its hold but is still alive (its instance froze, or
//     lost Redis, for longer than the lease): a Save it makes after the
//     take-over fails (ErrNotHolder), so it does not send; one it made
//     before is what the take-over sees, sending, so the take-over does
//     not send. Its result is not recorded.
//
// The one case in which a message is sent twice is a Save that Redis
// acknowledged and then lost: a failover to a replica that had not
// received the write yet (Redis replicates asynchronously), or a restart
// that loses the last writes (appendfsync everysec loses up to a second;
// snapshots alone, far more). The take-over then reads the job as it was
// before the Save, scheduled, and sends it again. Run Redis with
// appendonly yes and appendfsync always, without failover, to rule it out
// at the cost of write latency; with failover, it remains possible for
// jobs that were being sent in the last moments before it.
//
// Finding out: a delivered job keeps its key and WeChat's msgid (Get, the
// outbox's Status, and the task's result in asynqmon). WeChat's
// subscribe_msg_sent_event push carries the msgid of every message it
// delivered, with the user and the template; a pushed msgid that no job
// holds, for the user and template of a job (its key names both, e.g.
// order-42-shipped), is the other send of that key. The engine logs every
// take-over at warning level with the key, the run that held the job and
// the status it saved ("taking over a job from a run that did not
// finish"), and every run result it could not record ("a run's result was
// not recorded"); after a Redis failover, check the jobs that ran in the
// seconds before it.
//
// # Watching the queues
//
// The queues are ordinary asynq queues, named Prefix+":tx" and
// Prefix+":campaign" (Engine.Queues). A task's id is its job's key, its
// payload names the job ({"key", "priority", "campaign", "template_id",
// "added"}), and an ended task's result is the final job as JSON (status,
// msgid, errcode, error).
//
// asynqmon, asynq's web UI, from its Docker image:
//
//	docker run --rm -p 8080:8080 hibiken/asynqmon --redis-addr=127.0.0.1:6379
//
// then open http://localhost:8080 and pick the app's queues. The asynq CLI
// (go install github.com/hibiken/asynq/tools/asynq@latest):
//
//	asynq dash                                          # live view of every queue
//	asynq queue ls                                      # the queues and their sizes
//	asynq task ls --queue=wxsub:wx1234:tx --state=scheduled
//	asynq task ls --queue=wxsub:wx1234:campaign --state=retry
//	asynq task inspect --queue=wxsub:wx1234:tx --id=order-42-shipped
//
// The states read: scheduled, waiting for its time; pending, due and
// waiting for a worker; active, being sent; retry, due again later, either
// because the run asked for it (a retry after WeChat was busy, a wait for
// the rate limit or a 45009 pause: its last error reads "the job is due
// again at ...", and its retry count stays 0) or because the engine
// failed (Redis did not answer: the count goes up); completed, ended, with
// the job as its result. Running a completed task again ("Run" in asynqmon,
// asynq task run) is harmless: its run finds the job ended. Pausing a
// queue (asynq queue pause) stops that priority's sends on the whole fleet.
// Do not delete or archive a task by hand: the job's record would read
// scheduled with nothing left to run it. Cancel jobs through the outbox.
// The record itself reads with HGETALL Prefix:job:key.
package asynqengine
