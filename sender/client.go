package sender

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

// Client calls WeChat's server APIs for one mini-program. It is safe for
// concurrent use; create one per app and share it.
type Client struct {
	appID    string
	secret   string
	baseURL  string
	http     *http.Client
	tokens   TokenSource
	grants   store.GrantStore
	log      *slog.Logger
	retry    RetryPolicy
	truncate bool
	stable   bool
	// settleTime bounds a Refund or Revoke after the send, which runs even
	// when the caller's context was cancelled.
	settleTime time.Duration
	now        func() time.Time
}

// New returns a Client for the mini-program appID with its AppSecret. The
// secret may be empty only with WithTokenSource. An invalid option is
// reported by name.
func New(appID, secret string, opts ...Option) (*Client, error) {
	o := options{
		baseURL:    DefaultBaseURL,
		retry:      defaultRetry(),
		margin:     DefaultRefreshMargin,
		forceCap:   DefaultForceRefreshCap,
		leaseTTL:   15 * time.Second,
		pollEvery:  25 * time.Millisecond,
		settleTime: 5 * time.Second,
		now:        time.Now,
	}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := o.check(appID, secret); err != nil {
		return nil, err
	}
	c := &Client{
		appID:      appID,
		secret:     secret,
		baseURL:    strings.TrimRight(o.baseURL, "/"),
		http:       o.httpClient,
		grants:     o.grants,
		log:        o.logger,
		retry:      o.retry,
		truncate:   o.truncate,
		stable:     o.stable,
		settleTime: o.settleTime,
		now:        o.now,
	}
	if c.http == nil {
		c.http = defaultHTTPClient()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.tokens = o.tokenSource
	if c.tokens == nil {
		ts := o.tokenStore
		if ts == nil {
			ts = memory.New()
		}
		key := appID
		if o.stable {
			key += ":stable"
		}
		src := &storeSource{
			store:    ts,
			key:      key,
			margin:   o.margin,
			leaseTTL: o.leaseTTL,
			poll:     o.pollEvery,
			now:      o.now,
			fetch:    c.fetchToken,
			log:      c.log,
		}
		if o.stable {
			src.force = &forceLimiter{cap: o.forceCap, gap: 30 * time.Second}
		}
		c.tokens = src
	}
	return c, nil
}

func (o *options) check(appID, secret string) error {
	if appID == "" {
		return errors.New("wxsub/sender: New: appID is empty")
	}
	if o.tokenSource == nil && secret == "" {
		return errors.New("wxsub/sender: New: secret is empty (it may be empty only with WithTokenSource)")
	}
	u, err := url.Parse(o.baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("wxsub/sender: WithBaseURL: %q is not an http(s) URL without query", o.baseURL)
	}
	r := o.retry
	switch {
	case r.MaxAttempts < 1 || r.MaxAttempts > maxAttemptsLimit:
		return fmt.Errorf("wxsub/sender: WithRetry: MaxAttempts %d is outside 1..%d", r.MaxAttempts, maxAttemptsLimit)
	case r.BaseDelay < 0:
		return fmt.Errorf("wxsub/sender: WithRetry: BaseDelay %v is negative", r.BaseDelay)
	case r.MaxDelay < r.BaseDelay:
		return fmt.Errorf("wxsub/sender: WithRetry: MaxDelay %v is less than BaseDelay %v", r.MaxDelay, r.BaseDelay)
	case r.MaxDelay > time.Minute:
		return fmt.Errorf("wxsub/sender: WithRetry: MaxDelay %v is more than a minute", r.MaxDelay)
	}
	if o.settleTime <= 0 {
		return fmt.Errorf("wxsub/sender: WithSettleTimeout: %v, want a positive duration", o.settleTime)
	}
	if o.margin < 0 {
		return fmt.Errorf("wxsub/sender: WithRefreshMargin: %v is negative", o.margin)
	}
	if o.forceCap < 0 {
		return fmt.Errorf("wxsub/sender: WithForceRefreshCap: %d is negative", o.forceCap)
	}
	if o.tokenSource != nil {
		switch {
		case o.tokenStore != nil:
			return errors.New("wxsub/sender: WithTokenSource: cannot be combined with WithTokenStore")
		case o.stableSet:
			return errors.New("wxsub/sender: WithTokenSource: cannot be combined with WithStableToken")
		case o.marginSet:
			return errors.New("wxsub/sender: WithTokenSource: cannot be combined with WithRefreshMargin")
		case o.forceCapSet:
			return errors.New("wxsub/sender: WithTokenSource: cannot be combined with WithForceRefreshCap")
		}
	}
	return nil
}

// defaultHTTPClient keeps enough idle connections for many concurrent
// sends (opening at most 256 at once), and closes idle ones after 30 s,
// before WeChat's side is likely to, so that a request is rarely written
// into a connection the server closed.
func defaultHTTPClient() *http.Client {
	t := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		MaxConnsPerHost:       256,
		IdleConnTimeout:       30 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// TokenSource returns the source the Client takes its access tokens from,
// for callers that need a token for an API this package does not cover.
func (c *Client) TokenSource() TokenSource { return c.tokens }

// CloseIdleConnections closes the idle connections of the Client's HTTP
// client, as when shutting down.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// GrantStore returns the grant store the Client consumes grants from (nil
// without WithGrantStore).
func (c *Client) GrantStore() store.GrantStore { return c.grants }
