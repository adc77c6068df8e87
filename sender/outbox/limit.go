package outbox

import (
	"context"
	"time"
)

// A Limiter shares one app's sending allowance across every instance that
// sends for it: a rate (sends per second, with a burst), a daily budget
// with a share for campaigns, and a pause (after WeChat's 45009, daily
// quota reached). MemoryLimiter serves one process; package
// sender/outbox/redisfleet's serves a fleet on Redis.
type Limiter interface {
	// Take asks to send one message of priority p now. It returns 0 when
	// the send may go, or how long to wait before asking again (the rate
	// is used up for now, the day's budget for p is spent, or sending is
	// paused).
	Take(ctx context.Context, p Priority) (wait time.Duration, err error)

	// Pause stops every send of the app, on every instance, until t.
	Pause(ctx context.Context, until time.Time) error
}

// Limits are what a Limiter allows one app.
type Limits struct {
	// PerSecond is the sustained rate of sends per second across the
	// fleet. Default DefaultPerSecond.
	PerSecond int
	// Burst is how many sends may go at once after a quiet spell.
	// Default: PerSecond.
	Burst int
	// Daily is the number of sends a day (China Standard Time) across the
	// fleet. Default DefaultDaily; negative means no budget of our own
	// (WeChat's quota still applies).
	Daily int64
	// CampaignShare is the part of Daily, in percent, that Campaign sends
	// may use; the rest is kept for Transactional ones. Default
	// DefaultCampaignShare; 100 lets campaigns use it all.
	CampaignShare int
}

// Defaults of Limits.
//
// WeChat documents the daily quota of subscription sends (10 million a day
// per app, 30 million with payment enabled), not the frequency limit behind
// errcode 45011; the quota API (/cgi-bin/openapi/quota/get) reports both for
// an app. The default rate, 100 a second, sends at most 8.64 million a day,
// so an app sending flat out all day stays under the smaller quota. Raise it
// after reading your app's rate_limit from the quota API. The default
// budget is the smaller daily quota, four fifths of which campaigns may use.
const (
	DefaultPerSecond     = 100
	DefaultDaily         = 10_000_000
	DefaultCampaignShare = 80
)

// Normalize returns l with its zero fields set to the defaults, as
// Limiters apply them.
func (l Limits) Normalize() Limits {
	if l.PerSecond <= 0 {
		l.PerSecond = DefaultPerSecond
	}
	if l.Burst <= 0 {
		l.Burst = l.PerSecond
	}
	if l.Daily == 0 {
		l.Daily = DefaultDaily
	}
	if l.CampaignShare <= 0 || l.CampaignShare > 100 {
		l.CampaignShare = DefaultCampaignShare
	}
	return l
}

// Budget returns the daily budget priority p may use, or -1 for none.
func (l Limits) Budget(p Priority) int64 {
	if l.Daily < 0 {
		return -1
	}
	if p == Campaign {
		return l.Daily * int64(l.CampaignShare) / 100
	}
	return l.Daily
}

// cst is China Standard Time, UTC+8 all year, in which WeChat's daily
// quotas reset. A fixed zone: the machine may have no time zone database.
var cst = time.FixedZone("CST", 8*60*60)

// NextQuotaReset returns the first midnight China Standard Time after t,
// when WeChat resets the daily quotas (errcode 45009 ends).
func NextQuotaReset(t time.Time) time.Time {
	c := t.In(cst)
	return time.Date(c.Year(), c.Month(), c.Day()+1, 0, 0, 0, 0, cst)
}

// QuotaDay returns the day, China Standard Time, whose quota t counts
// against, as "2006-01-02".
func QuotaDay(t time.Time) string { return t.In(cst).Format(time.DateOnly) }
