// Package memory keeps wxsub's grants, access tokens and handled-push keys
// in process, on top of github.com/patrickmn/go-cache.
//
// A Store implements store.GrantStore, store.TokenStore and
// store.DedupeStore at once. It suits a single instance, tests and demos;
// a fleet of instances that must share grants and one access token needs a
// shared store such as package store/redis.
//
// Every operation is atomic. Consume and Refund run under a shared lock on
// a per-record atomic counter, so concurrent sends on one template do not
// serialize on a global mutex; operations that create, extend or remove
// records take the store's lock exclusively. go-cache's janitor removes
// expired entries every cleanup interval (see WithCleanupInterval); expired
// entries are never returned before that.
package memory
