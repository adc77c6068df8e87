package middleware

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// Endpoint is the callback route: it verifies, decrypts, decodes and
// deduplicates WeChat's pushes, books grants and runs the hooks. Build one
// with New, mount it with an adapter, and Close it on shutdown. It is safe
// for concurrent use.
type Endpoint struct {
	token       string
	cipher      *codec.Cipher // nil in plaintext mode
	mode        Mode
	mux         *handlers.Mux
	grants      store.GrantStore
	onceGrants  store.OnceGrantStore // grants, when it can apply changes once
	longTerm    func(string) bool
	grantTTL    time.Duration
	dedupe      store.DedupeStore
	dedupeTTL   time.Duration
	dedupeLease time.Duration
	dedupeKey   func(*codec.Message) string
	customKey   bool             // Config.DedupeKey was set
	window      int64            // seconds; < 0 disables the check
	clock       func() time.Time // Config.Now, nil for the real clock; read it with now
	leases      leaseClock       // nil for the real clock; see leaseClock
	maxBody     int64
	hookTimeout time.Duration
	log         *slog.Logger
	rejects     *rejectLog

	gate    *gate
	watch   *watchdog
	runners *runners
	pool    *pool // nil unless Async
}

// New validates cfg and builds an Endpoint. The error names the first bad
// field and wraps ErrConfig. With Async set, New starts the worker pool.
func New(cfg Config) (*Endpoint, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: Token is required", ErrConfig)
	}
	e := &Endpoint{
		token:       cfg.Token,
		mode:        cfg.Mode,
		mux:         cfg.Mux,
		grants:      cfg.Grants,
		longTerm:    cfg.LongTerm,
		grantTTL:    cfg.GrantTTL,
		dedupe:      cfg.Dedupe,
		dedupeTTL:   cfg.DedupeTTL,
		dedupeLease: cfg.DedupeLease,
		dedupeKey:   cfg.DedupeKey,
		clock:       cfg.Now,
		maxBody:     cfg.MaxBodyBytes,
		hookTimeout: cfg.HookTimeout,
		log:         cfg.Logger,
		rejects:     newRejectLog(),
	}
	e.onceGrants, _ = cfg.Grants.(store.OnceGrantStore)
	if e.mode == 0 {
		e.mode = ModePlaintext
		if cfg.EncodingAESKey != "" {
			e.mode = ModeSafe
		}
	}
	switch e.mode {
	case ModePlaintext:
		if cfg.EncodingAESKey != "" {
			return nil, fmt.Errorf("%w: EncodingAESKey is set but Mode is ModePlaintext", ErrConfig)
		}
	case ModeCompatible, ModeSafe:
		if cfg.EncodingAESKey == "" {
			return nil, fmt.Errorf("%w: EncodingAESKey is required in %s mode", ErrConfig, e.mode)
		}
		if cfg.AppID == "" {
			return nil, fmt.Errorf("%w: AppID is required in %s mode", ErrConfig, e.mode)
		}
		c, err := codec.NewCipher(cfg.EncodingAESKey, cfg.AppID)
		if err != nil {
			return nil, fmt.Errorf("%w: EncodingAESKey: %w", ErrConfig, err)
		}
		e.cipher = c
	default:
		return nil, fmt.Errorf("%w: Mode %d is not a Mode", ErrConfig, cfg.Mode)
	}
	if cfg.GrantTTL < 0 {
		return nil, fmt.Errorf("%w: GrantTTL is negative", ErrConfig)
	}
	switch {
	case cfg.ReplayWindow == NoReplayCheck:
		e.window = -1
	case cfg.ReplayWindow == 0:
		e.window = int64(DefaultReplayWindow / time.Second)
	case cfg.ReplayWindow < time.Second:
		return nil, fmt.Errorf("%w: ReplayWindow must be at least a second, or NoReplayCheck", ErrConfig)
	case cfg.ReplayWindow > MaxReplayWindow:
		return nil, fmt.Errorf("%w: ReplayWindow %v is over MaxReplayWindow (%v)", ErrConfig, cfg.ReplayWindow, MaxReplayWindow)
	default:
		e.window = int64(cfg.ReplayWindow / time.Second)
	}
	switch {
	case e.maxBody == 0:
		e.maxBody = DefaultMaxBodyBytes
	case e.maxBody < 0:
		return nil, fmt.Errorf("%w: MaxBodyBytes is negative", ErrConfig)
	case e.maxBody == math.MaxInt64:
		// "No limit": one less, so that adapters can read one byte more.
		e.maxBody = math.MaxInt64 - 1
	}
	if e.hookTimeout == 0 {
		e.hookTimeout = DefaultHookTimeout
	} else if e.hookTimeout < 0 || e.hookTimeout >= MaxHookTimeout {
		return nil, fmt.Errorf("%w: HookTimeout must be between 0 and %v", ErrConfig, MaxHookTimeout)
	}
	if e.dedupeLease == 0 {
		e.dedupeLease = e.hookTimeout + 2*time.Second
	} else if e.dedupeLease < 0 {
		return nil, fmt.Errorf("%w: DedupeLease is negative", ErrConfig)
	}
	// A push is accepted while its timestamp is within the window, which
	// spans 2×ReplayWindow; it must be remembered at least that long
	// after its claim, or a captured push could be replayed.
	// The sum saturates: a DedupeLease near the largest Duration must not
	// wrap it to a small minimum.
	minTTL := time.Duration(0)
	if e.window >= 0 {
		minTTL = addSaturating(2*time.Duration(e.window)*time.Second, e.dedupeLease)
	}
	switch {
	case e.dedupeTTL < 0:
		return nil, fmt.Errorf("%w: DedupeTTL is negative", ErrConfig)
	case e.dedupeTTL == 0:
		e.dedupeTTL = max(DefaultDedupeTTL, minTTL)
	case e.dedupeTTL < minTTL:
		return nil, fmt.Errorf("%w: DedupeTTL must be at least 2×ReplayWindow + DedupeLease (%v)", ErrConfig, minTTL)
	}
	if e.dedupe == nil {
		e.dedupe = memory.NewDedupe()
	}
	if e.dedupeKey == nil {
		e.dedupeKey = DefaultDedupeKey
	} else {
		e.customKey = true
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.gate = newGate()
	e.watch = newWatchdog()
	e.runners = newRunners(e)
	if cfg.Async {
		workers, size, bytes := cfg.Workers, cfg.QueueSize, cfg.QueueBytes
		if workers == 0 {
			workers = DefaultWorkers
		}
		if size == 0 {
			size = DefaultQueueSize
		}
		if bytes == 0 {
			bytes = max(DefaultQueueBytes, e.maxBody)
		}
		switch {
		case workers < 0:
			return nil, fmt.Errorf("%w: Workers is negative", ErrConfig)
		case size < 0:
			return nil, fmt.Errorf("%w: QueueSize is negative", ErrConfig)
		case bytes < 0:
			return nil, fmt.Errorf("%w: QueueBytes is negative", ErrConfig)
		case e.dedupeLease <= e.hookTimeout:
			return nil, fmt.Errorf("%w: DedupeLease (%v) must be longer than HookTimeout (%v) in async mode: a queued push's claim must outlast its hooks",
				ErrConfig, e.dedupeLease, e.hookTimeout)
		case bytes < e.maxBody:
			return nil, fmt.Errorf("%w: QueueBytes (%d) is below MaxBodyBytes (%d): a push of the largest size could never be queued",
				ErrConfig, bytes, e.maxBody)
		}
		e.pool = startPool(e, workers, size, bytes)
	} else if cfg.Workers != 0 || cfg.QueueSize != 0 || cfg.QueueBytes != 0 {
		return nil, fmt.Errorf("%w: Workers, QueueSize and QueueBytes need Async", ErrConfig)
	}
	return e, nil
}

// Mode returns the mode the Endpoint runs in (never the zero Mode).
func (e *Endpoint) Mode() Mode { return e.mode }

// MaxBodyBytes returns the body limit, at most math.MaxInt64-1. Adapters
// read at most one byte more, so that Serve can answer 413 to a body over
// the limit.
func (e *Endpoint) MaxBodyBytes() int64 { return e.maxBody }

// Close stops accepting pushes (Serve answers 503 to them from then on, so
// WeChat retries another instance) and waits until every hook started
// before has returned and, in async mode, the queue is drained, or until
// ctx is done. It returns ctx.Err() if it gave up waiting; the work goes
// on without it (running hooks return when they do, queued pushes still
// run), and a later Close waits for it again.
func (e *Endpoint) Close(ctx context.Context) error {
	e.gate.close()
	err := e.gate.wait(ctx)
	e.runners.stop()
	return err
}

// addSaturating returns a+b for non-negative durations, or the largest
// Duration when the sum would overflow.
func addSaturating(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
