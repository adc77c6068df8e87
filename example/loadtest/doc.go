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
//	WXSUB_LOAD=full  go test -count=1 -timeout 20m ./example/loadtest/   # 30 s of sustained load per target
//
// The Redis scenarios start private redis-server processes (they stop and
// restart them, and keep nothing outside the test's temporary directory);
// the send burst also runs against the shared server in WXSUB_REDIS_ADDR.
//
// The wrk scripts and run-wrk.sh beside this file measure each adapter
// against a bare handler of the same framework, served by the benchserver
// command; BENCHMARKS.md at the repository root records the results.
package loadtest
