// Package redis keeps wxsub's grants, access tokens and handled-push keys
// in Redis, so that every instance of an app shares them.
//
// A Store implements store.GrantStore, store.TokenStore and
// store.DedupeStore, with the optional store.OnceGrantStore,
// store.ReceiptStore and store.DedupeExtender, on a
// github.com/redis/go-redis/v9 UniversalClient that the caller owns and
// closes: a single node, Sentinel or Cluster.
//
// # Keys
//
// With the default prefix "wxsub:" the store uses:
//
//	wxsub:grant:{<openid>}:<template>  hash: n (one-time count), lt (long-term flag), g (generation)
//	wxsub:grants:{<openid>}            set of the user's template ids, for List and DeleteUser
//	wxsub:op:{<openid>}:<op key>       an ApplyOnce operation key, with PX opTTL
//	wxsub:receipt:{<openid>}:<op key>  hash of a ConsumeOnce operation: t (template), k (kind),
//	                                   g (generation), s (settlement, 0 until settled), with PX opTTL
//	wxsub:receipts:{<openid>}          sorted set of the user's ConsumeOnce operation keys, scored
//	                                   by expiry (unix ms), for DeleteUser
//	wxsub:token:<key>                  "<expiry unix ms>:<access token>", with PX
//	wxsub:lease:<key>                  random lease ID, SET NX PX
//	wxsub:dedupe:<key>                 "inflight" (PX lease) or "done" (PX ttl)
//
// The braces are a Redis Cluster hash tag: every key of one user lives in
// one slot, so each grant operation is one Lua script on one node. The scripts
// for List, Revoke and DeleteUser derive record keys from the index sets;
// they stay within the user's slot. Characters '{', '}' and '%' in an
// openid are percent-escaped so that no openid can reach another's keys.
//
// DeleteUser removes the user's records and ConsumeOnce operation records,
// and both indexes. ApplyOnce's operation keys are not indexed and stay
// until their TTL runs out. ConsumeOnce drops expired keys from the
// operation index as it adds one, reading the server's clock (TIME) before
// writing, which scripts may do from Redis 5 on. Were an operation record
// ever missed, a Settle after DeleteUser could still not refund into a
// record granted since: that record has a new generation.
//
// # Atomicity and expiry
//
// Every grant operation, ApplyOnce, ConsumeOnce, Settle, InvalidateToken,
// ReleaseLease, Begin, Extend and Abort is a single Lua script (EVALSHA,
// falling back to EVAL after a SCRIPT FLUSH or a restart); LookupReceipt
// is one HMGET. ConsumeOnce checks the operation key, consumes and records
// the receipt in one script; Settle checks and marks the operation record
// and refunds or revokes in one script, keeping the record's remaining
// TTL. A record whose count reaches zero stays until it is revoked or
// expires, so that a pending Refund can still find it. A new record gets a
// random generation from the client; Refund, and Settle with Refunded, add
// back only to the record whose generation the receipt carries.
//
// # Deadlines
//
// Every method checks its context first and passes it to go-redis. go-redis
// bounds socket reads and writes by the context's deadline only when the
// client was built with ContextTimeoutEnabled: true; otherwise its own
// ReadTimeout and WriteTimeout apply. Set it when calls must not outlive
// their deadline against a Redis that stops answering.
package redis
