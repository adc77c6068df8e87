package middleware

import (
	"errors"
	"log/slog"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/store"
)

// Mode is the message encryption mode configured in the mini-program's
// admin console.
type Mode uint8

const (
	// ModePlaintext accepts plaintext pushes only; a push marked
	// encrypt_type=aes is refused. EncodingAESKey must be empty.
	ModePlaintext Mode = iota + 1
	// ModeCompatible accepts both: a push marked encrypt_type=aes is
	// verified and decrypted, any other is handled as plaintext. Choose it
	// only if WeChat really sends unencrypted pushes to the route: a
	// plaintext push's body is covered by no signature (the query's
	// signature covers only timestamp and nonce), so anyone who saw one
	// push URL can post a body of their own until the timestamp leaves
	// the replay window, the same exposure as ModePlaintext. WeChat's
	// compatible mode marks its encrypted pushes encrypt_type=aes, which
	// ModeSafe handles.
	ModeCompatible
	// ModeSafe accepts encrypted pushes only, whose body msg_signature
	// covers. It is the default when EncodingAESKey is set.
	ModeSafe
)

// String returns "plaintext", "compatible" or "safe".
func (m Mode) String() string {
	switch m {
	case ModePlaintext:
		return "plaintext"
	case ModeCompatible:
		return "compatible"
	case ModeSafe:
		return "safe"
	}
	return "auto"
}

// NoReplayCheck as Config.ReplayWindow turns off the timestamp check.
const NoReplayCheck time.Duration = -1

// Defaults for the zero values of Config.
const (
	DefaultReplayWindow = 5 * time.Minute
	DefaultMaxBodyBytes = 1 << 20
	DefaultHookTimeout  = 4 * time.Second
	DefaultDedupeTTL    = 10 * time.Minute
	DefaultWorkers      = 16
	DefaultQueueSize    = 1024
	DefaultQueueBytes   = 64 << 20

	// MaxHookTimeout is WeChat's reply deadline: a route that answers
	// later is retried, so HookTimeout must stay below it.
	MaxHookTimeout = 5 * time.Second

	// MaxReplayWindow is the longest ReplayWindow New accepts. The window
	// only has to cover WeChat's retries and the skew between its clock
	// and this one; a longer one asks the dedupe store to remember every
	// push for twice as long (see Config.DedupeTTL).
	MaxReplayWindow = 24 * time.Hour
)

// ErrConfig is wrapped by every error New returns for a bad Config.
var ErrConfig = errors.New("wxsub/middleware: invalid config")

// Config configures an Endpoint. Only Token is required; the zero value of
// every other field is a sensible default.
type Config struct {
	// Token is the token configured in the admin console. Required.
	Token string

	// EncodingAESKey is the 43-character message key, needed to decrypt
	// safe- and compatible-mode pushes.
	EncodingAESKey string
	// AppID is the mini-program's appid; required with EncodingAESKey,
	// since every decrypted push must carry it.
	AppID string
	// Mode is the encryption mode. The zero value means ModeSafe when
	// EncodingAESKey is set and ModePlaintext otherwise; set
	// ModeCompatible explicitly to also accept unencrypted pushes.
	Mode Mode

	// Mux holds the hooks. Nil means no hooks: pushes are verified,
	// deduplicated, booked and answered "success".
	Mux *handlers.Mux

	// Grants, when set, receives the grant bookkeeping of subscription
	// events (see the package documentation). Nil turns it off.
	Grants store.GrantStore
	// LongTerm reports whether a template is long-term. Nil means every
	// template is one-time. TemplateSet builds one from a list of ids. A
	// panic in it fails the push (500).
	LongTerm func(templateID string) bool
	// GrantTTL is the ttl passed to the grant store; 0 means grants do not
	// expire (WeChat's one-time grants never do).
	GrantTTL time.Duration

	// Dedupe remembers the pushes already handled. Nil means a private
	// in-memory store owned by this Endpoint (memory.NewDedupe, never
	// shared with another); give a fleet of instances one Redis store
	// (store/redis) so that a retry reaching another instance is
	// recognised.
	Dedupe store.DedupeStore
	// DedupeTTL is how long a handled push is remembered. 0 means
	// DefaultDedupeTTL (well past WeChat's last retry), or
	// 2×ReplayWindow + DedupeLease when that is longer, so that a
	// captured push cannot be replayed while its timestamp is still
	// accepted; New refuses a smaller value. With NoReplayCheck nothing
	// bounds a replay: a captured push is accepted again once its record
	// expires.
	DedupeTTL time.Duration
	// DedupeLease is how long a claim on a push in progress lasts before
	// another delivery may take it over (0 means HookTimeout + 2s, so that
	// a crashed instance blocks at most one retry).
	DedupeLease time.Duration
	// DedupeKey overrides the key a push is deduplicated by. It returns ""
	// to handle the push without deduplication. Nil means DefaultDedupeKey.
	// Grant bookkeeping is always deduplicated by DefaultDedupeKey,
	// whatever DedupeKey returns. A panic in it fails the push (500).
	DedupeKey func(msg *codec.Message) string

	// ReplayWindow is how far a push's timestamp may be from Now (either
	// way), at most MaxReplayWindow. 0 means DefaultReplayWindow;
	// NoReplayCheck turns it off, and
	// then a captured push can be replayed once its dedupe record expires
	// (see DedupeTTL).
	ReplayWindow time.Duration
	// Now is the clock, for tests. Nil means time.Now.
	Now func() time.Time

	// MaxBodyBytes bounds the request body (0 means DefaultMaxBodyBytes;
	// math.MaxInt64, no practical bound, is taken as math.MaxInt64-1, so
	// that adapters can read one byte more).
	MaxBodyBytes int64
	// HookTimeout is the deadline of the hooks' context, counted from the
	// moment the push was verified (0 means DefaultHookTimeout). It must
	// be below MaxHookTimeout.
	HookTimeout time.Duration

	// Async answers "success" as soon as a push is verified, deduplicated
	// and booked, and runs its hooks on a pool of Workers goroutines fed
	// by a queue of QueueSize pushes (0 means the defaults). QueueBytes
	// bounds the request bodies that pushes queued or running hold (0
	// means DefaultQueueBytes, or MaxBodyBytes when that is larger); it
	// must be at least MaxBodyBytes. A push over either bound is answered
	// 503, so that WeChat retries it. The workers run until Close.
	Async      bool
	Workers    int
	QueueSize  int
	QueueBytes int64

	// Logger receives the route's log lines; nil discards them. Every
	// line's message starts with "wxsub: ". By level:
	//
	//   - Error: a failed, panicking or timed-out hook ("hooks failed"), a
	//     panic in DedupeKey or LongTerm, a store error, a reply that cannot
	//     be encrypted: what the route answers 500 to, and in async mode
	//     what fails after the answer.
	//   - Warn: a rejected request (a 4xx answer, or a 503 for a push in
	//     progress, a full queue or a closed Endpoint), when it is the
	//     first with its reason in a minute: "request rejected" with
	//     "status", "reason", "check" (what to check: for a wrong Token,
	//     EncodingAESKey or AppID, which setting) and "suppressed" (the
	//     rejections with that reason since the last such line, each logged
	//     at Debug). Also a correctly signed plaintext push refused in safe
	//     mode, a verified push with more than MaxItems items, a
	//     subscription event or item that books no grant because it names
	//     no template, a claim that ran out before its push finished, and in
	//     async mode a passive reply that cannot be sent and a queued push
	//     that outwaited its claim.
	//   - Debug: every other rejected request, "request rejected" with
	//     "status" and "reason".
	//
	// So each rejected request is logged once, at Warn or at Debug, and a
	// flood of forged requests adds at most one Warn line a minute per
	// reason. Nothing is logged at Info, and no line holds a secret.
	Logger *slog.Logger
}

// TemplateSet returns a LongTerm function that reports the given ids.
func TemplateSet(templateIDs ...string) func(templateID string) bool {
	set := make(map[string]struct{}, len(templateIDs))
	for _, id := range templateIDs {
		set[id] = struct{}{}
	}
	return func(templateID string) bool {
		_, ok := set[templateID]
		return ok
	}
}
