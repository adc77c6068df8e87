// Package memory keeps wxsub's grants, access tokens and handled-push keys
// in process.
//
// A Store implements store.GrantStore, store.TokenStore and
// store.DedupeStore at once, with the optional store.OnceGrantStore,
// store.ReceiptStore and store.DedupeExtender. It suits a single instance,
// tests and demos; a fleet of instances that must share grants and one
// access token needs a shared store such as package store/redis. A Dedupe
// (NewDedupe) is the DedupeStore alone, without goroutines: the callback
// route's default.
//
// Every operation is atomic. Grants and tokens live in
// github.com/patrickmn/go-cache: Consume and Refund run under a shared lock
// on a per-record atomic counter, so concurrent sends on one template do
// not serialize on a global mutex; operations that create, extend or remove
// records take the store's lock exclusively, as do ApplyOnce, ConsumeOnce
// and Settle, which check an operation key and change a record in one step.
// go-cache's janitor removes expired grants, operation records and tokens
// every cleanup interval (see WithCleanupInterval). Dedupe records, written
// for every push, are kept apart in pointer-free hash tables that drop
// expired records whenever they fill up (see Dedupe). Expired entries of
// either kind are never returned, dropped yet or not.
package memory
