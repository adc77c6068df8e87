package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	goredis "github.com/redis/go-redis/v9"

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
	v, err := s.c.Get(ctx, s.tokenKey(key)).Result()
	if errors.Is(err, goredis.Nil) {
		return store.Token{}, store.ErrNotFound
	}
	if err != nil {
		return store.Token{}, wrap(ctx, "get token", err)
	}
	t, err := decodeToken(v)
	if err != nil {
		return store.Token{}, err
	}
	// The key outlives ExpiresAt by up to a millisecond (its expiry is
	// rounded up, and Redis keeps a key through its last millisecond).
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
	var err error
	if d := px(time.Until(t.ExpiresAt)); d > 0 {
		err = s.c.Set(ctx, s.tokenKey(key), encodeToken(t), d).Err()
	} else {
		err = s.c.Del(ctx, s.tokenKey(key)).Err()
	}
	if err != nil {
		return wrap(ctx, "set token", err)
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
	if err := s.scripts.invalidateToken.Run(ctx, s.c, []string{s.tokenKey(key)}, accessToken).Err(); err != nil {
		return wrap(ctx, "invalidate token", err)
	}
	return nil
}

// AcquireLease takes the refresh lease for key for ttl (SET NX PX), or
// returns store.ErrLeaseHeld.
func (s *Store) AcquireLease(ctx context.Context, key string, ttl time.Duration) (store.Lease, error) {
	if err := ctxErr(ctx); err != nil {
		return store.Lease{}, err
	}
	if err := store.CheckKeyTTL("lease", key, ttl); err != nil {
		return store.Lease{}, err
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	id := hex.EncodeToString(b[:])
	ok, err := s.c.SetNX(ctx, s.leaseKey(key), id, px(ttl)).Result()
	if err != nil {
		return store.Lease{}, wrap(ctx, "acquire lease", err)
	}
	if !ok {
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
	if err := s.scripts.deleteIfEqual.Run(ctx, s.c, []string{s.leaseKey(l.Key)}, l.ID).Err(); err != nil {
		return wrap(ctx, "release lease", err)
	}
	return nil
}
