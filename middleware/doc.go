// Package middleware is the callback route of a WeChat mini-program, once,
// independent of any web framework: an Endpoint takes a Request (method,
// raw query, body) and returns a Response (status, content type, body).
// The adapters in wxsub/adapters mount it in net/http, Fiber or fasthttp.
//
// # What a push goes through
//
//  1. Verification. A GET is WeChat's URL check: the signature over token,
//     timestamp and nonce must hold, and echostr is echoed. A POST marked
//     encrypt_type=aes must carry a msg_signature over token, timestamp,
//     nonce and the envelope's Encrypt field (the query signature alone
//     does not cover the body, so it is never enough); its body is then
//     decrypted, its appid checked, and its ToUserName compared with the
//     envelope's. When such a POST also carries the query signature, as
//     WeChat's do, that signature and the timestamp are checked first, so
//     that a forged push is refused before its body is read; without it,
//     the body is read for Encrypt alone, in one pass and constant memory
//     (codec.DecodeEnvelope), before msg_signature is checked. A plaintext POST must carry the query signature. Note that
//     this signature does not cover the body: in plaintext mode anyone who
//     sees one signed URL can post another body under it until the replay
//     window closes. Use safe mode where that matters.
//  2. Replay window. The timestamp must be within ReplayWindow of the clock
//     (5 minutes by default, at most MaxReplayWindow, a day). The dedupe
//     record of a push outlives the window (see Config.DedupeTTL), so a
//     captured push cannot be replayed; with NoReplayCheck it can, once
//     its record expires.
//  3. Decoding, from XML or JSON, detected from the body.
//  4. Deduplication. The push is claimed in the DedupeStore under
//     DefaultDedupeKey (or Config.DedupeKey): a message's MsgID, or an
//     event's sender, time, name and subscription items. A retry of a push handled
//     successfully is answered "success" without running hooks; a retry
//     arriving while the first delivery is still running is answered 503,
//     so WeChat tries again later (in async mode, "success" when this
//     Endpoint's own queue holds the push); a push whose hooks failed is
//     released, so WeChat's retry runs it again.
//  5. Grant bookkeeping, when Config.Grants is set (see below).
//  6. Hooks: Config.Mux dispatches the typed event. They get a context
//     whose deadline is HookTimeout (4 s by default) after verification.
//     A hook that returns an error or panics fails the push: the route
//     answers 500 and logs the error (with the stack, for a panic), and
//     WeChat retries. A hook that ignores its context cannot delay the
//     answer: at the deadline the route answers 500, while the push stays
//     claimed until the hook returns or DedupeLease runs out, whichever
//     comes first.
//  7. The answer: "success", or the passive reply a customer-service hook
//     asked for (encrypted when the push was).
//
// # Modes
//
// ModePlaintext accepts only plaintext pushes; ModeSafe only encrypted
// ones; ModeCompatible both, handling a push as encrypted exactly when its
// query says encrypt_type=aes. The zero Mode is ModeSafe when an
// EncodingAESKey is configured and ModePlaintext otherwise: WeChat's
// compatible mode marks its encrypted pushes encrypt_type=aes, which safe
// mode handles. ModeCompatible must be chosen explicitly, and it accepts
// plaintext pushes whose body no signature covers, the same exposure as
// plaintext mode. In safe mode a correctly signed plaintext push is
// answered 400 and logged at warning level, with a hint to set
// ModeCompatible if WeChat really sends unencrypted pushes.
//
// # Statuses
//
//	200 success          verified, handled (or already handled before)
//	200 echostr          URL check passed
//	200 reply            a hook asked for a passive reply
//	400                  malformed query or body, bad ciphertext or padding,
//	                     wrong appid or ToUserName, unsupported
//	                     encrypt_type, encrypted push without a key,
//	                     plaintext push in safe mode, GET without a
//	                     token-like echostr, more than MaxItems items
//	401                  signature, timestamp or nonce missing
//	403                  wrong signature or msg_signature, or a timestamp
//	                     outside the replay window ("stale timestamp")
//	405                  method other than GET and POST, with Allow: GET, POST
//	413                  body over MaxBodyBytes
//	500                  hook error, panic or timeout; store error
//	503                  push in progress elsewhere (not in this Endpoint's
//	                     async queue), async queue full, or Endpoint closed
//	                     (WeChat retries)
//
// Every error body is a short fixed reason (the Reason constants); it never
// echoes the request.
//
// # Grant bookkeeping
//
// With Config.Grants set, subscription events update the grant store
// before any hook runs, and only after the push was verified:
//
//   - popup accept or acceptWithAudio adds one one-time grant, or sets a
//     long-term grant for templates LongTerm reports;
//   - popup reject of a long-term template revokes it; a reject of a
//     one-time template changes nothing, since every earlier one-time
//     grant stands on its own;
//   - change reject revokes the template (change accept of a long-term
//     template sets it again);
//   - ban and filter change nothing;
//   - sent events change nothing: a failed delivery is passed to the
//     hooks only, because WeChat does not say whether it used up the
//     user's grant, and refunding one it did not use would let the
//     sender send a message the user never allowed.
//
// Each item is claimed under its own dedupe key (derived from
// DefaultDedupeKey and the template id, whatever Config.DedupeKey returns)
// and marked done as soon as the store took it, so a retry after a failed
// hook runs the hooks again but never counts a grant twice. A push listing
// more than MaxItems subscription items is refused (400).
//
// # Async mode
//
// With Config.Async the route answers "success" as soon as the push is
// verified, claimed and booked, and queues its hooks for a pool of
// workers. The queue holds at most QueueSize pushes and QueueBytes of
// request bodies; a push over either bound is answered 503 so that WeChat
// retries. A retry of a push the queue holds is answered "success".
//
// A push that waited in the queue so long that its dedupe claim could end
// before its hooks return extends the claim while it is surely still its
// own (with a store.DedupeExtender; both built-in stores are one). Later
// than that, it waits until the claim has surely ended and claims the push
// anew. A claim it finds then is another delivery's, which may still fail,
// so it looks again once that claim could have ended, and gives the push
// up only when it finds it handled. A push answered "success" is therefore
// run, and a redelivery does not run its hooks a second time, as long as
// the store answers and hooks return within their deadline. Async mode
// needs DedupeLease longer than HookTimeout; renewal keeps half the
// difference (at most a second) as its margin, so keep it at the default
// of 2 s or more.
//
// Hook failures in async mode are logged, not retried (WeChat was already
// told "success"), and passive replies cannot be sent. The workers run
// until Close: call it on shutdown, to drain the queue. A Close that gives
// up waiting leaves the queued pushes to run.
package middleware
