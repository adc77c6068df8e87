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
	customKey := cfg.DedupeKey != nil
	cfg = configDefault(cfg)
	cipher, err := validate(cfg)
	if err != nil {
		return nil, err
	}
	e := &Endpoint{
		token:       cfg.Token,
		cipher:      cipher,
		mode:        cfg.Mode,
		mux:         cfg.Mux,
		grants:      cfg.Grants,
		longTerm:    cfg.LongTerm,
		grantTTL:    cfg.GrantTTL,
		dedupe:      cfg.Dedupe,
		dedupeTTL:   cfg.DedupeTTL,
		dedupeLease: cfg.DedupeLease,
		dedupeKey:   cfg.DedupeKey,
		customKey:   customKey,
		window:      windowSeconds(cfg.ReplayWindow),
		clock:       cfg.Now,
		maxBody:     cfg.MaxBodyBytes,
		hookTimeout: cfg.HookTimeout,
		log:         cfg.Logger,
		rejects:     newRejectLog(),
	}
	e.onceGrants, _ = cfg.Grants.(store.OnceGrantStore)
	e.gate = newGate()
	e.watch = newWatchdog()
	e.runners = newRunners(e)
	if cfg.Async {
		e.pool = startPool(e, cfg.Workers, cfg.QueueSize, cfg.QueueBytes)
	}
	return e, nil
}

// configDefault returns cfg with every zero field that has a default set
// to it. It never fails: a default is only ever taken for a zero field, so
// validate still sees every value that was set.
func configDefault(cfg Config) Config {
	if cfg.Mode == 0 {
		cfg.Mode = ModePlaintext
		if cfg.EncodingAESKey != "" {
			cfg.Mode = ModeSafe
		}
	}
	if cfg.ReplayWindow == 0 {
		cfg.ReplayWindow = DefaultReplayWindow
	}
	switch cfg.MaxBodyBytes {
	case 0:
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	case math.MaxInt64:
		// "No limit": one less, so that adapters can read one byte more.
		cfg.MaxBodyBytes = math.MaxInt64 - 1
	}
	if cfg.HookTimeout == 0 {
		cfg.HookTimeout = DefaultHookTimeout
	}
	if cfg.DedupeLease == 0 {
		cfg.DedupeLease = cfg.HookTimeout + 2*time.Second
	}
	if cfg.DedupeTTL == 0 {
		cfg.DedupeTTL = max(DefaultDedupeTTL, minDedupeTTL(cfg))
	}
	if cfg.Dedupe == nil {
		cfg.Dedupe = memory.NewDedupe()
	}
	if cfg.DedupeKey == nil {
		cfg.DedupeKey = DefaultDedupeKey
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Async {
		if cfg.Workers == 0 {
			cfg.Workers = DefaultWorkers
		}
		if cfg.QueueSize == 0 {
			cfg.QueueSize = DefaultQueueSize
		}
		if cfg.QueueBytes == 0 {
			cfg.QueueBytes = max(DefaultQueueBytes, cfg.MaxBodyBytes)
		}
	}
	return cfg
}

// validate checks a defaulted cfg, field by field in a fixed order, and
// returns the cipher of the encrypted modes (nil in plaintext mode).
func validate(cfg Config) (*codec.Cipher, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: Token is required", ErrConfig)
	}
	var cipher *codec.Cipher
	switch cfg.Mode {
	case ModePlaintext:
		if cfg.EncodingAESKey != "" {
			return nil, fmt.Errorf("%w: EncodingAESKey is set but Mode is ModePlaintext", ErrConfig)
		}
	case ModeCompatible, ModeSafe:
		if cfg.EncodingAESKey == "" {
			return nil, fmt.Errorf("%w: EncodingAESKey is required in %s mode", ErrConfig, cfg.Mode)
		}
		if cfg.AppID == "" {
			return nil, fmt.Errorf("%w: AppID is required in %s mode", ErrConfig, cfg.Mode)
		}
		c, err := codec.NewCipher(cfg.EncodingAESKey, cfg.AppID)
		if err != nil {
			return nil, fmt.Errorf("%w: EncodingAESKey: %w", ErrConfig, err)
		}
		cipher = c
	default:
		return nil, fmt.Errorf("%w: Mode %d is not a Mode", ErrConfig, cfg.Mode)
	}
	if cfg.GrantTTL < 0 {
		return nil, fmt.Errorf("%w: GrantTTL is negative", ErrConfig)
	}
	switch {
	case cfg.ReplayWindow == NoReplayCheck:
	case cfg.ReplayWindow < time.Second:
		return nil, fmt.Errorf("%w: ReplayWindow must be at least a second, or NoReplayCheck", ErrConfig)
	case cfg.ReplayWindow > MaxReplayWindow:
		return nil, fmt.Errorf("%w: ReplayWindow %v is over MaxReplayWindow (%v)", ErrConfig, cfg.ReplayWindow, MaxReplayWindow)
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("%w: MaxBodyBytes is negative", ErrConfig)
	}
	if cfg.HookTimeout < 0 || cfg.HookTimeout >= MaxHookTimeout {
		return nil, fmt.Errorf("%w: HookTimeout must be between 0 and %v", ErrConfig, MaxHookTimeout)
	}
	if cfg.DedupeLease < 0 {
		return nil, fmt.Errorf("%w: DedupeLease is negative", ErrConfig)
	}
	if minTTL := minDedupeTTL(cfg); cfg.DedupeTTL < 0 {
		return nil, fmt.Errorf("%w: DedupeTTL is negative", ErrConfig)
	} else if cfg.DedupeTTL < minTTL {
		return nil, fmt.Errorf("%w: DedupeTTL must be at least 2×ReplayWindow + DedupeLease (%v)", ErrConfig, minTTL)
	}
	if !cfg.Async {
		if cfg.Workers != 0 || cfg.QueueSize != 0 || cfg.QueueBytes != 0 {
			return nil, fmt.Errorf("%w: Workers, QueueSize and QueueBytes need Async", ErrConfig)
		}
		return cipher, nil
	}
	switch {
	case cfg.Workers < 0:
		return nil, fmt.Errorf("%w: Workers is negative", ErrConfig)
	case cfg.QueueSize < 0:
		return nil, fmt.Errorf("%w: QueueSize is negative", ErrConfig)
	case cfg.QueueBytes < 0:
		return nil, fmt.Errorf("%w: QueueBytes is negative", ErrConfig)
	case cfg.DedupeLease <= cfg.HookTimeout:
		return nil, fmt.Errorf("%w: DedupeLease (%v) must be longer than HookTimeout (%v) in async mode: a queued push's claim must outlast its hooks",
			ErrConfig, cfg.DedupeLease, cfg.HookTimeout)
	case cfg.QueueBytes < cfg.MaxBodyBytes:
		return nil, fmt.Errorf("%w: QueueBytes (%d) is below MaxBodyBytes (%d): a push of the largest size could never be queued",
			ErrConfig, cfg.QueueBytes, cfg.MaxBodyBytes)
	}
	return cipher, nil
}

// windowSeconds is the replay window in whole seconds, or -1 for
// NoReplayCheck.
func windowSeconds(w time.Duration) int64 {
	if w == NoReplayCheck {
		return -1
	}
	return int64(w / time.Second)
}

// minDedupeTTL is how long a push must be remembered after its claim. A
// push is accepted while its timestamp is within the window, which spans
// 2×ReplayWindow; it must be remembered at least that long after its
// claim, or a captured push could be replayed. The sum saturates: a
// DedupeLease near the largest Duration must not wrap it to a small
// minimum.
func minDedupeTTL(cfg Config) time.Duration {
	w := windowSeconds(cfg.ReplayWindow)
	if w < 0 {
		return 0
	}
	return addSaturating(2*time.Duration(w)*time.Second, cfg.DedupeLease)
}

// now is the time on the Endpoint's clock: Config.Now when one was given,
// else the real clock.
func (e *Endpoint) now() time.Time {
	if e.clock != nil {
		return e.clock()
	}
	return time.Now()
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
