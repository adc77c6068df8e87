package sender

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/wxsub/wxsub/store"
)

// memTokenStore is an in-process TokenStore on an injected clock, so the
// token source's margin and lease logic can be tested without sleeping.
type memTokenStore struct {
	now func() time.Time

	mu     sync.Mutex
	tokens map[string]store.Token
	leases map[string]memLease
}

type memLease struct {
	id      string
	expires time.Time
}

func newMemTokenStore(now func() time.Time) *memTokenStore {
	return &memTokenStore{now: now, tokens: map[string]store.Token{}, leases: map[string]memLease{}}
}

func (m *memTokenStore) GetToken(ctx context.Context, key string) (store.Token, error) {
	if err := ctx.Err(); err != nil {
		return store.Token{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.tokens[key]
	if !ok || !t.Valid(m.now(), 0) {
		return store.Token{}, store.ErrNotFound
	}
	return t, nil
}

func (m *memTokenStore) SetToken(ctx context.Context, key string, t store.Token) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens[key] = t
	return nil
}

func (m *memTokenStore) InvalidateToken(ctx context.Context, key, accessToken string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tokens[key].AccessToken == accessToken {
		delete(m.tokens, key)
	}
	return nil
}

func (m *memTokenStore) AcquireLease(ctx context.Context, key string, ttl time.Duration) (store.Lease, error) {
	if err := ctx.Err(); err != nil {
		return store.Lease{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if l, ok := m.leases[key]; ok && now.Before(l.expires) {
		return store.Lease{}, store.ErrLeaseHeld
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	m.leases[key] = memLease{id: id, expires: now.Add(ttl)}
	return store.Lease{Key: key, ID: id}, nil
}

func (m *memTokenStore) ReleaseLease(ctx context.Context, l store.Lease) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if cur, ok := m.leases[l.Key]; ok && cur.id == l.ID {
		delete(m.leases, l.Key)
	}
	return nil
}
