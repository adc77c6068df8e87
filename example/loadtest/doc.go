// Package loadtest proves wxsub under load and faults: sustained mixed
// pushes against the example apps, Redis stopped mid-load, a failing fake
// WeChat during a send burst, a hook that never returns, a corpus of hostile
// requests, unsigned safe-mode pushes stuffed with items (against a server
// process of its own, whose peak RSS is compared with junk bodies'), and
// two instances sharing one Redis.
//
// The tests are long, so they run only when WXSUB_LOAD is set:
//
//	WXSUB_LOAD=short go test -race -count=1 ./example/loadtest/   # a few seconds per scenario (CI)
//	WXSUB_LOAD=full  go test -count=1 -timeout 40m ./example/loadtest/   # 30 s of sustained load per target
//
// The Redis scenarios start private redis-server processes (they stop and
// restart them, and keep nothing outside the test's temporary directory);
// the send burst also runs against the shared server in WXSUB_REDIS_ADDR.
//
// The TestOutboxFleet tests are the proofs of scheduled sends (package
// sender/outbox): two outbox instances on asynq and one private Redis,
// sending to a fake WeChat under a fleet limit of 500 a second; the limit
// held at WeChat, one instance killed with SIGKILL mid-run, a 45009 pause
// until midnight on a moved clock, and a campaign cut off halfway and run
// again. Each instance is a process of its own: the test binary runs
// itself again with WXSUB_LOADTEST_OUTBOX_WORKER set (see runWorker). The
// short form scales them down (2,000 jobs, 10,000 campaign users) and does
// not wait the 60 to 120 s asynq takes to hand a killed instance's jobs to
// the other; the full form does (20,000 jobs, 100,000 users).
//
// The wrk scripts and run-wrk.sh beside this file measure each adapter
// against a bare handler of the same framework, served by the benchserver
// command; BENCHMARKS.md at the repository root records the results.
package loadtest
