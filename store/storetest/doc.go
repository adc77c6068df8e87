// Package storetest is the conformance suite for implementations of the
// interfaces in package store. Every store shipped with wxsub runs it, and a
// custom store (SQL, etcd, ...) should run it too: passing it is what "a
// store" means to the callback route and the sender.
//
// Call the suite from an ordinary test in your own package:
//
//	func TestMyStore(t *testing.T) {
//		newStore := func(t *testing.T) store.GrantStore {
//			s, err := mystore.Open(testDSN(t)) // an empty store, or one no other test writes to
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		}
//		storetest.RunGrantStore(t, newStore)
//	}
//
// RunGrantStore also runs the subtests of the optional interfaces a grant
// store implements: store.OnceGrantStore (ApplyOnce/...) and
// store.ReceiptStore (Receipt/...). RunTokenStore and RunDedupeStore work
// the same way. Each subtest calls the constructor once, and the suite uses
// fresh random user ids and keys, so a constructor that hands every subtest
// the same backing database is fine.
//
// The suite checks exact counts, the generation rule for refunds, expiry with
// short TTLs (a few hundred milliseconds, so it needs a store that keeps time
// to the millisecond), cancelled contexts, and concurrent use from up to a
// thousand goroutines: run it with -race.
package storetest
