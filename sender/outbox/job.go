package outbox

import (
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/store"
)

// Status is where a scheduled send stands.
type Status string

// The statuses of a job. Scheduled and Sending are open; the others are
// final, and a final job keeps its status for the engine's retention.
const (
	// StatusScheduled: waiting for its time, or for a retry.
	StatusScheduled Status = "scheduled"
	// StatusSending: an instance is sending it now.
	StatusSending Status = "sending"
	// StatusDelivered: WeChat accepted it; MsgID is set and the grant
	// stays consumed.
	StatusDelivered Status = "delivered"
	// StatusFailed: WeChat refused it (ErrCode says why) or its deadline
	// passed; the grant was refunded, or revoked after 43101.
	StatusFailed Status = "failed"
	// StatusUnknown: the request reached WeChat and no answer came back,
	// or the instance sending it died mid-send. It is never sent again:
	// WeChat may have delivered it. The grant is settled as
	// sender.SendSubscribe settles an unknown delivery (refunded).
	StatusUnknown Status = "unknown"
	// StatusCancelled: cancelled before it was sent, or dropped by an
	// engine that keeps nothing (see MemoryEngine); the grant was
	// refunded.
	StatusCancelled Status = "cancelled"
)

// Final reports whether s is a status a job does not leave.
func (s Status) Final() bool {
	switch s {
	case StatusDelivered, StatusFailed, StatusUnknown, StatusCancelled:
		return true
	}
	return false
}

// Priority orders the sends of one app when they compete for its rate
// limit and its daily budget.
type Priority uint8

const (
	// Transactional sends (an order shipped, an appointment tomorrow)
	// are the default: they may use the whole daily budget.
	Transactional Priority = iota
	// Campaign sends stop at the campaign share of the daily budget, so
	// that a campaign cannot eat the quota the day's transactional
	// messages need; engines run them after due transactional ones.
	Campaign
)

// String returns "transactional" or "campaign".
func (p Priority) String() string {
	if p == Campaign {
		return "campaign"
	}
	return "transactional"
}

// Job is one scheduled send, as an Engine stores it.
type Job struct {
	// Key is the caller's idempotency key ("order-42-shipped"): one job
	// per key.
	Key string `json:"key"`
	// Message is what is sent.
	Message sender.SubscribeMessage `json:"message"`
	// Receipt is the grant reserved for the message when it was
	// scheduled; the send spends it, nothing else can.
	Receipt store.Receipt `json:"receipt"`
	// At is when the job is due (its next attempt, after a retry).
	At time.Time `json:"at"`
	// Due is when the job was first due, as scheduled.
	Due time.Time `json:"due"`
	// Deadline is when retrying stops: a job not delivered by then fails
	// and its grant is refunded.
	Deadline time.Time `json:"deadline"`
	// Priority is Transactional (the default) or Campaign.
	Priority Priority `json:"priority"`
	// Campaign is the id of the campaign the job belongs to, if any.
	Campaign string `json:"campaign,omitempty"`

	// Status is where the job stands.
	Status Status `json:"status"`
	// Attempts counts the sends begun (retries included).
	Attempts int `json:"attempts"`
	// MsgID is WeChat's msgid, once delivered.
	MsgID string `json:"msgid,omitempty"`
	// ErrCode is WeChat's errcode of the last failed attempt (0 when the
	// failure was not an errcode, such as a network error).
	ErrCode int `json:"errcode,omitempty"`
	// Error describes the last failure.
	Error string `json:"error,omitempty"`
	// Settlement is what became of the reserved grant, once known.
	Settlement store.Settlement `json:"settlement,omitempty"`
	// Updated is when the status last changed.
	Updated time.Time `json:"updated"`
}
