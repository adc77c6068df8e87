package loadtest

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// attempt is one delivery of a push and its answer (status 0 when the
// request failed without one).
type attempt struct {
	at     time.Time
	status int
	took   time.Duration
}

// tally is what a drive saw.
type tally struct {
	mu       sync.Mutex
	statuses map[int]int64
	attempts []attempt
	kinds    map[string]int64
	// keep records every attempt (the fault test reads them); off, only
	// counts are kept, so that the heap the sustained test measures does
	// not grow with the tally.
	keep bool
	// unfinished counts pushes still not answered 200 when retrying stopped.
	unfinished int64
	errs       []string
	// handled counts pushes answered 200.
	handled atomic.Int64
}

// newTally returns an empty tally; keep records every attempt.
func newTally(keep bool) *tally {
	return &tally{statuses: map[int]int64{}, kinds: map[string]int64{}, keep: keep}
}

func (tl *tally) add(a attempt, err error) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.statuses[a.status]++
	if tl.keep {
		tl.attempts = append(tl.attempts, a)
	}
	if err != nil && len(tl.errs) < 5 {
		tl.errs = append(tl.errs, err.Error())
	}
}

// drive runs every worker against the callback route at base until ctx is
// done. With retry, a push answered other than 200 is delivered again
// every 100 ms, as WeChat retries, until it is answered 200 or hard is done;
// without, it is counted and the worker moves on.
func (tl *tally) drive(ctx, hard context.Context, base string, c *http.Client, workers []*worker, retry bool) {
	url := base + "/wechat/callback"
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				m, kind := w.next()
				for {
					start := time.Now()
					resp, err := w.pusher().Post(hard, c, url, m)
					a := attempt{at: start, status: resp.Status, took: time.Since(start)}
					problem := err
					if err == nil && resp.Status != http.StatusOK {
						// Keep the route's reason: the first few show why.
						problem = fmt.Errorf("%s push answered %d %q", kind, resp.Status, resp.Body)
					}
					tl.add(a, problem)
					if err == nil && resp.Status == http.StatusOK {
						tl.handled.Add(1)
						w.handled(m, kind)
						break
					}
					if !retry || hard.Err() != nil {
						if retry {
							tl.mu.Lock()
							tl.unfinished++
							tl.mu.Unlock()
						}
						break
					}
					select {
					case <-time.After(100 * time.Millisecond):
					case <-hard.Done():
					}
				}
			}
		})
	}
	wg.Wait()
	for _, w := range workers {
		for k, n := range w.kinds {
			tl.kinds[k] += n
		}
	}
}

// total returns the number of attempts.
func (tl *tally) total() int64 {
	var n int64
	for _, c := range tl.statuses {
		n += c
	}
	return n
}

// fivexx returns the number of attempts answered 5xx or not answered.
func (tl *tally) fivexx() int64 {
	var n int64
	for s, c := range tl.statuses {
		if s >= 500 || s == 0 {
			n += c
		}
	}
	return n
}

// percentile returns the p-th percentile (0 < p ≤ 100) of the durations.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(float64(len(s))*p/100+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}
