package memory

import (
	"context"
	"time"

	"github.com/wxsub/wxsub/store"
)

// GetToken returns the stored token for key, or store.ErrNotFound when
// there is none or it expired.
func (s *Store) GetToken(ctx context.Context, key string) (store.Token, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Token{}, err
	}
	if err := store.CheckKey("token", key); err != nil {
		return store.Token{}, err
	}
	v, ok := s.tokens.Get(key)
	if !ok {
		return store.Token{}, store.ErrNotFound
	}
	t := v.(store.Token)
	if !time.Now().Before(t.ExpiresAt) {
		return store.Token{}, store.ErrNotFound
	}
	return t, nil
}

// SetToken stores t under key until t.ExpiresAt. A token that has already
// expired replaces the stored one with nothing.
func (s *Store) SetToken(ctx context.Context, key string, t store.Token) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckSetToken(key, t); err != nil {
		return err
	}
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	if d := time.Until(t.ExpiresAt); d > 0 {
		s.tokens.Set(key, t, cacheTTL(d))
	} else {
		s.tokens.Delete(key)
	}
	return nil
}

// InvalidateToken deletes the token stored under key only if it is still
// accessToken.
func (s *Store) InvalidateToken(ctx context.Context, key, accessToken string) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckInvalidateToken(key, accessToken); err != nil {
		return err
	}
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	if v, ok := s.tokens.Get(key); ok && v.(store.Token).AccessToken == accessToken {
		s.tokens.Delete(key)
	}
	return nil
}

// AcquireLease takes the refresh lease for key for ttl, or returns
// store.ErrLeaseHeld.
func (s *Store) AcquireLease(ctx context.Context, key string, ttl time.Duration) (store.Lease, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Lease{}, err
	}
	if err := store.CheckKeyTTL("lease", key, ttl); err != nil {
		return store.Lease{}, err
	}
	id := randomID()
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	// Add fails while an unexpired lease exists.
	if err := s.leases.Add(key, id, cacheTTL(ttl)); err != nil {
		return store.Lease{}, store.ErrLeaseHeld
	}
	return store.Lease{Key: key, ID: id}, nil
}

// ReleaseLease gives the lease back if l still holds it.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	if err := ctxErr(ctx); err != nil {
		return err
	}
	if err := store.CheckLease(l); err != nil {
		return err
	}
	s.tokenMu.Lock()
	defer s.tokenMu.Unlock()
	if v, ok := s.leases.Get(l.Key); ok && v.(string) == l.ID {
		s.leases.Delete(l.Key)
	}
	return nil
}
