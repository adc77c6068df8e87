package memory

import (
	"context"
	"math"
	"strconv"
	"time"

	"github.com/wxsub/wxsub/store"
)

// userGrants holds one user's records by template id. The map changes only
// with Store.mu held for writing.
type userGrants struct {
	records map[string]*record
}

// record is the grant of one user for one template.
type record struct {
	// remaining changes under Store.mu held for reading (Consume, Refund),
	// so it is atomic.
	remaining atomic64
	// The fields below change only with Store.mu held for writing.
	longTerm  bool
	expiresAt time.Time // zero: never
	gen       string
}

func (r *record) expired(now time.Time) bool {
	return expired(r.expiresAt, now)
}

// expired reports whether an expiry (the zero time: never) has passed at now.
func expired(expiresAt, now time.Time) bool {
	return !expiresAt.IsZero() && !now.Before(expiresAt)
}

// live returns the unexpired record, or nil. The caller holds s.mu.
func (s *Store) live(openID, templateID string) *record {
	v, ok := s.grants.Get(openID)
	if !ok {
		return nil
	}
	r := v.(*userGrants).records[templateID]
	// Read the clock only for a record that can expire: most never do.
	if r == nil || (!r.expiresAt.IsZero() && r.expired(time.Now())) {
		return nil
	}
	return r
}

// AddOneTime adds n one-time grants; see store.GrantStore.
func (s *Store) AddOneTime(ctx context.Context, openID, templateID string, n int64, ttl time.Duration) (int64, error) {
	if err := ctxErr(ctx); err != nil {
		return 0, err
	}
	if err := store.CheckAddOneTime(openID, templateID, n, ttl); err != nil {
		return 0, err
	}
	var total int64
	err := s.update(openID, templateID, ttl, func(r *record) error {
		if r.remaining.Load() > math.MaxInt64-n {
			return invalid("adding %d grants would overflow the count", n)
		}
		total = r.remaining.Add(n)
		return nil
	})
	return total, err
}

// addOne and setLongTerm are the record changes of ApplyOnce.
func addOne(r *record) error {
	if r.remaining.Load() == math.MaxInt64 {
		return invalid("adding a grant would overflow the count")
	}
	r.remaining.Add(1)
	return nil
}

func setLongTerm(r *record) error {
	r.longTerm = true
	return nil
}

// SetLongTerm records a long-term grant; see store.GrantStore.
func (s *Store) SetLongTerm(ctx context.Context, openID, templateID string, ttl time.Duration) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckSetLongTerm(openID, templateID, ttl); err != nil {
		return err
	}
	return s.update(openID, templateID, ttl, setLongTerm)
}

// update finds or creates the record, lets apply change it, then extends
// its expiry by ttl and stores it, all under the write lock. A record that
// apply rejects is left as it was.
func (s *Store) update(openID, templateID string, ttl time.Duration, apply func(*record) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.updateLocked(openID, templateID, ttl, apply)
}

// updateLocked is update for a caller that holds s.mu for writing.
func (s *Store) updateLocked(openID, templateID string, ttl time.Duration, apply func(*record) error) error {
	now := time.Now()
	u := s.user(openID)
	r := u.records[templateID]
	if r != nil && r.expired(now) {
		r = nil
	}
	fresh := r == nil
	if fresh {
		r = &record{gen: s.nextGeneration()}
	}
	if err := apply(r); err != nil {
		return err
	}
	switch {
	case fresh && ttl > 0:
		r.expiresAt = now.Add(ttl)
	case fresh || r.expiresAt.IsZero():
		// New and non-expiring, or non-expiring already: it stays so.
	case ttl == 0:
		r.expiresAt = time.Time{}
	case now.Add(ttl).After(r.expiresAt):
		r.expiresAt = now.Add(ttl)
	}
	u.records[templateID] = r
	s.save(openID, u, now)
	return nil
}

// user returns the user's records, or a new empty set. The caller holds
// s.mu for writing.
func (s *Store) user(openID string) *userGrants {
	if v, ok := s.grants.Get(openID); ok {
		return v.(*userGrants)
	}
	return &userGrants{records: make(map[string]*record, 1)}
}

// save drops the user's expired records and stores the rest in the cache
// with an expiry no earlier than any record's, or deletes the user when
// nothing is left. The caller holds s.mu for writing.
func (s *Store) save(openID string, u *userGrants, now time.Time) {
	var last time.Time
	never := false
	for tmpl, r := range u.records {
		switch {
		case r.expired(now):
			delete(u.records, tmpl)
		case r.expiresAt.IsZero():
			never = true
		case r.expiresAt.After(last):
			last = r.expiresAt
		}
	}
	switch {
	case len(u.records) == 0:
		s.grants.Delete(openID)
	case never:
		s.grants.Set(openID, u, cacheTTL(0))
	default:
		s.grants.Set(openID, u, cacheTTL(last.Sub(now)))
	}
}

func (s *Store) nextGeneration() string {
	return s.genID + "-" + strconv.FormatUint(s.genSeq.Add(1), 10)
}

// Consume takes one grant, preferring a long-term one; see store.GrantStore.
func (s *Store) Consume(ctx context.Context, openID, templateID string) (store.Receipt, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Receipt{}, err
	}
	if err := store.CheckIDs(openID, templateID); err != nil {
		return store.Receipt{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.take(openID, templateID)
}

// take is Consume for a caller that holds s.mu, for reading or writing.
func (s *Store) take(openID, templateID string) (store.Receipt, error) {
	r := s.live(openID, templateID)
	if r == nil {
		return store.Receipt{}, store.ErrNoGrant
	}
	kind := store.LongTerm
	if !r.longTerm {
		if !r.remaining.decrementAboveZero() {
			return store.Receipt{}, store.ErrNoGrant
		}
		kind = store.OneTime
	}
	return store.Receipt{OpenID: openID, TemplateID: templateID, Kind: kind, Generation: r.gen}, nil
}

// Refund gives back a one-time grant taken from the same, still existing
// record; see store.GrantStore.
func (s *Store) Refund(ctx context.Context, rc store.Receipt) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckReceipt(rc); err != nil {
		return err
	}
	if rc.Kind == store.LongTerm {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.giveBack(rc)
	return nil
}

// giveBack is Refund for a caller that holds s.mu, for reading or writing:
// a one-time grant goes back only to the record it was taken from.
func (s *Store) giveBack(rc store.Receipt) {
	if rc.Kind != store.OneTime {
		return
	}
	if r := s.live(rc.OpenID, rc.TemplateID); r != nil && r.gen == rc.Generation {
		r.remaining.incrementBelowMax()
	}
}

// Revoke removes the user's record for the template; see store.GrantStore.
func (s *Store) Revoke(ctx context.Context, openID, templateID string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckIDs(openID, templateID); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeLocked(openID, templateID)
	return nil
}

// revokeLocked removes the record; the caller holds s.mu for writing.
func (s *Store) revokeLocked(openID, templateID string) {
	v, ok := s.grants.Get(openID)
	if !ok {
		return
	}
	u := v.(*userGrants)
	if _, ok := u.records[templateID]; !ok {
		return
	}
	delete(u.records, templateID)
	s.save(openID, u, time.Now())
}

// Get returns the user's grant for the template, or a zero Grant when
// there is none; see store.GrantStore.
func (s *Store) Get(ctx context.Context, openID, templateID string) (store.Grant, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Grant{}, err
	}
	if err := store.CheckIDs(openID, templateID); err != nil {
		return store.Grant{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	r := s.live(openID, templateID)
	if r == nil {
		return store.Grant{}, nil
	}
	return r.grant(openID, templateID), nil
}

func (r *record) grant(openID, templateID string) store.Grant {
	return store.Grant{
		OpenID:     openID,
		TemplateID: templateID,
		Remaining:  r.remaining.Load(),
		LongTerm:   r.longTerm,
		ExpiresAt:  r.expiresAt,
	}
}

// List returns the user's unexpired records in no particular order; see
// store.GrantStore.
func (s *Store) List(ctx context.Context, openID string) ([]store.Grant, error) {
	if err := ctxErr(ctx); err != nil {
		return nil, err
	}
	if err := store.CheckOpenID(openID); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	v, ok := s.grants.Get(openID)
	if !ok {
		return nil, nil
	}
	now := time.Now()
	records := v.(*userGrants).records
	out := make([]store.Grant, 0, len(records))
	for tmpl, r := range records {
		if !r.expired(now) {
			out = append(out, r.grant(openID, tmpl))
		}
	}
	return out, nil
}

// DeleteUser removes every record of the user and the records of its
// ConsumeOnce operations; see store.GrantStore. (ApplyOnce's operation keys
// stay until their TTL runs out, as in package store/redis.)
func (s *Store) DeleteUser(ctx context.Context, openID string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if openID == "" {
		return invalid("empty openid")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants.Delete(openID)
	s.receipts.Delete(openID)
	return nil
}
