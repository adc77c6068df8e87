package outbox

import "context"

// Outcome is how one recipient of a campaign ended.
type Outcome string

// The outcomes a campaign counts.
const (
	// OutcomeDelivered: WeChat accepted the message.
	OutcomeDelivered Outcome = "delivered"
	// OutcomeNoGrant: the user held no grant; WeChat was not called.
	OutcomeNoGrant Outcome = "no_grant"
	// OutcomeInvalid: the recipient's data broke the template's rules;
	// nothing was reserved and WeChat was not called.
	OutcomeInvalid Outcome = "invalid"
	// OutcomeRefused: WeChat answered 43101, the user refused; the grant
	// was revoked.
	OutcomeRefused Outcome = "refused"
	// OutcomeFailed: WeChat refused it otherwise, or its deadline passed.
	OutcomeFailed Outcome = "failed"
	// OutcomeUnknown: the delivery is unknown (see StatusUnknown).
	OutcomeUnknown Outcome = "unknown"
	// OutcomeCancelled: its job was cancelled.
	OutcomeCancelled Outcome = "cancelled"
)

// Outcomes lists every Outcome, in the order reports print them.
func Outcomes() []Outcome {
	return []Outcome{OutcomeDelivered, OutcomeNoGrant, OutcomeInvalid, OutcomeRefused, OutcomeFailed, OutcomeUnknown, OutcomeCancelled}
}

// A Tally counts the outcomes of a campaign's recipients across the fleet,
// once per job key: counting a key again, from any instance and under any
// outcome, changes nothing, so a campaign re-run after a crash, or a job
// finished twice by instances that both thought they held it, is counted
// once. MemoryTally serves one process; package sender/outbox/redisfleet's
// serves a fleet.
type Tally interface {
	// Record counts key under outcome in campaign unless key was counted
	// in campaign before. It reports whether it counted it now.
	Record(ctx context.Context, campaign, key string, outcome Outcome) (bool, error)

	// Counts returns how many keys of campaign were counted under each
	// outcome (outcomes with none may be missing).
	Counts(ctx context.Context, campaign string) (map[Outcome]int64, error)
}
