// Package outboxtest is the conformance suite for implementations of the
// interfaces in package sender/outbox: Engine, Limiter and Tally. The
// engines, limiters and tallies shipped with wxsub run it, and a custom one
// (a Postgres queue such as River, say) should run it too.
//
// Call the suites from ordinary tests in your own package:
//
//	func TestMyEngine(t *testing.T) {
//		outboxtest.RunEngine(t, func(t *testing.T) outbox.Engine {
//			e := myengine.New(testDSN(t)) // an engine no other test shares
//			return e                      // not started: the suite starts it
//		})
//	}
//
// Each subtest calls the constructor for fresh instances and starts and
// closes the engines itself. The Fleet variants (RunEngineFleet,
// RunLimiterFleet, RunTallyFleet) check what a shared backend promises:
// their constructors return instances that share one backend, as the
// instances of a fleet do; a backend for one process (outbox.MemoryEngine
// and the other memory versions) does not run them.
//
// The suites need time: engines run jobs by the real clock, with due times
// a second or two ahead, so a run of RunEngine takes some seconds. They
// wait on events and conditions, with generous overall timeouts
// (Patience), never on tight sleeps, so that they pass on a loaded machine.
// Limiters take their clock from the constructor (see Clock): the pause and
// the quota day are checked by moving it, the rate by real time.
package outboxtest
