package redis_test

import (
	"testing"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/store"
	wxredis "github.com/wxsub/wxsub/store/redis"
	"github.com/wxsub/wxsub/store/storetest"
)

// newStore returns a Store on the shared Redis under a fresh key prefix
// that is deleted when the test ends.
func newStore(t *testing.T) *wxredis.Store {
	t.Helper()
	c, prefix := redistest.Client(t)
	s, err := wxredis.New(c, wxredis.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestGrantStore(t *testing.T) {
	storetest.RunGrantStore(t, func(t *testing.T) store.GrantStore { return newStore(t) })
}

func TestTokenStore(t *testing.T) {
	storetest.RunTokenStore(t, func(t *testing.T) store.TokenStore { return newStore(t) })
}

func TestDedupeStore(t *testing.T) {
	storetest.RunDedupeStore(t, func(t *testing.T) store.DedupeStore { return newStore(t) })
}
