// Package redisfleet shares an app's sending allowance and its campaign
// counts across every instance of a fleet, on Redis: a Limiter (the
// outbox.Limiter of the fleet) and a Tally (its outbox.Tally).
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"}) // the app's client, shared
//	lim, err := redisfleet.NewLimiter(rdb, "wxsub:{wx1234}:", outbox.Limits{PerSecond: 500})
//	tally, err := redisfleet.NewTally(rdb, "wxsub:{wx1234}:")
//	ob, err := outbox.New(client, outbox.WithEngine(eng), outbox.WithLimiter(lim), outbox.WithTally(tally))
//
// # The limiter
//
// Take asks three things of Redis, in this order:
//
//   - The pause (after WeChat's 45009, daily quota reached): a key holding
//     the time sending resumes, in Unix milliseconds, which Pause only
//     moves later. Every instance reads it; while it lies ahead, Take
//     returns the wait until then.
//   - The daily budget: a counter per quota day (China Standard Time, the
//     day of the limiter's clock), counted up by each Take and given back
//     when the Take is refused. A transactional send may count up to
//     Limits.Daily, a campaign send only up to Limits.Budget(Campaign):
//     transactional sends fill the same count, so the rest of the day's
//     budget stays theirs. A refused Take waits until the next quota day.
//     The pause and the budget are read in one Lua script.
//   - The rate: github.com/go-redis/redis_rate/v10, a GCRA limiter (the
//     go-redis authors'), at Limits.PerSecond with Limits.Burst. A send it
//     refuses gives its count of the day back and waits RetryAfter.
//
// So N instances together never send more than the rate allows (redis_rate
// keeps one state for all) nor more than the day's budget (the count is
// one atomic counter). Near the end of the budget a Take may be refused
// while another instance's Take holds a count it is about to give back
// (refused by the rate): that send then waits for the next day although
// the budget had one left. The count is never exceeded; the day's last
// few sends may go the next day.
//
// Clocks: GCRA runs on the Redis server's clock (redis_rate reads TIME),
// so the rate cannot be moved by WithClock; the pause and the quota day
// follow the limiter's clock (WithClock, default time.Now), which tests
// move to cross a pause or a midnight. Instances' clocks should agree to
// well under a second, as for asynq's scheduling.
//
// # The tally
//
// Record counts a job key once per campaign: one Lua script sets the key
// in the campaign's hash of counted keys (HSETNX) and, only when it was
// not there, adds one to the outcome's count in the campaign's hash of
// counts (HINCRBY). Both hashes expire WithExpiry (30 days by default)
// after the campaign's last counted key. A campaign of 200,000 users keeps
// about 15 MB in Redis for that time (a field per key).
//
// # Keys
//
// Every key starts with the prefix given to NewLimiter and NewTally: one
// prefix per app, such as "wxsub:{wx1234}:".
//
//	<prefix>{limit}:pause          the pause, Unix ms
//	<prefix>{limit}:day:2006-01-02 the day's count, kept a day past its day
//	rate:<prefix>{limit}:rate      redis_rate's GCRA state ("rate:" is redis_rate's own prefix)
//	<prefix>tally:{c:<campaign>}:keys    the counted keys
//	<prefix>tally:{c:<campaign>}:counts  the counts
//
// Each script's keys share a hash tag, so they run on Redis Cluster: a
// prefix with a hash tag of its own (the braces in "{wx1234}") puts every
// key of the app in one slot; without one, the limiter's keys share the
// tag {limit} and each campaign's the tag {c:<campaign>}.
package redisfleet
