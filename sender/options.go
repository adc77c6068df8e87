package sender

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/wxsub/wxsub/store"
)

// DefaultBaseURL is WeChat's API host.
const DefaultBaseURL = "https://api.weixin.qq.com"

// Defaults used when the matching option is not given.
const (
	DefaultRefreshMargin   = 5 * time.Minute
	DefaultForceRefreshCap = 20
)

// defaultRetry is the retry policy used without WithRetry.
func defaultRetry() RetryPolicy {
	return RetryPolicy{MaxAttempts: 3, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}
}

// Option configures a Client. Options are checked by New.
type Option func(*options)

type options struct {
	baseURL     string
	httpClient  *http.Client
	tokenStore  store.TokenStore
	tokenSource TokenSource
	stable      bool
	stableSet   bool
	grants      store.GrantStore
	logger      *slog.Logger
	retry       RetryPolicy
	margin      time.Duration
	marginSet   bool
	truncate    bool
	forceCap    int
	forceCapSet bool
	leaseTTL    time.Duration
	pollEvery   time.Duration
	settleTime  time.Duration
	now         func() time.Time
}

// WithBaseURL sets the API host, such as a proxy or a sendertest.Server's
// URL. The default is DefaultBaseURL.
func WithBaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// WithHTTPClient sets the HTTP client. The default opens at most 256
// connections to the host, keeps up to 128 idle, and times a call out after
// 30 s. Its Transport
// should support net/http/httptrace (http.Transport does): without it the
// client cannot tell a request that never left from one that did, and does
// not repeat a failed send.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithTokenStore shares the access token through s, for example a Redis
// store, so that a fleet of instances fetches it once. The token and the
// refresh lease are kept under the appid (the appid and ":stable" with
// WithStableToken). The default is a store private to the Client.
func WithTokenStore(s store.TokenStore) Option { return func(o *options) { o.tokenStore = s } }

// WithTokenSource makes the Client take its tokens from ts, such as a
// central token service, instead of fetching them. It excludes
// WithTokenStore, WithStableToken, WithRefreshMargin and
// WithForceRefreshCap, which configure the built-in source.
func WithTokenSource(ts TokenSource) Option { return func(o *options) { o.tokenSource = ts } }

// WithStableToken makes the built-in source use /cgi-bin/stable_token, the
// recommended endpoint for a fleet: every caller gets the same token while
// it is valid, so instances cannot knock each other's token out.
func WithStableToken(stable bool) Option {
	return func(o *options) { o.stable, o.stableSet = stable, true }
}

// WithForceRefreshCap sets how many stable-token force refreshes the Client
// may make per day (Beijing time); WeChat allows 20 per app. A force refresh
// happens only after WeChat rejected the token and stable_token handed the
// same token back, at most once per 30 s.
func WithForceRefreshCap(n int) Option {
	return func(o *options) { o.forceCap, o.forceCapSet = n, true }
}

// WithGrantStore makes SendSubscribe consume a grant before each send and
// settle it by the outcome (see the package documentation).
func WithGrantStore(s store.GrantStore) Option { return func(o *options) { o.grants = s } }

// WithSettleTimeout sets how long a send keeps asking a grant store that
// does not answer, to take its grant again after a lost reply or to settle
// it after the send (default 5 s). With a store.ReceiptStore both are safe
// to repeat; what is still not settled then is logged at Error with the
// receipt's operation key, to settle by hand.
func WithSettleTimeout(d time.Duration) Option { return func(o *options) { o.settleTime = d } }

// WithLogger sets the logger. The default discards.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithRetry sets the retry policy (see RetryPolicy). The default makes
// three attempts, waiting about 100 ms and then 200 ms.
func WithRetry(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithRefreshMargin sets how long before its expiry a token is refreshed.
// The default is DefaultRefreshMargin. For a token that lives less than
// twice the margin, half its life is used instead.
func WithRefreshMargin(d time.Duration) Option {
	return func(o *options) { o.margin, o.marginSet = d, true }
}

// WithTruncate makes SendSubscribe cut over-long free-text values (thing,
// ending in "…"; name; phrase) to their limit instead of failing with a
// DataError.
func WithTruncate(truncate bool) Option { return func(o *options) { o.truncate = truncate } }
