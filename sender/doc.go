// Package sender calls WeChat's server APIs for a mini-program: it sends
// subscription messages only when the user granted them, and manages the
// access token for a whole fleet of instances.
//
// # Tokens
//
// A Client takes access tokens from a TokenSource. The built-in source keeps
// the token in memory until shortly before it expires (WithRefreshMargin),
// and shares it through a store.TokenStore (WithTokenStore; by default one
// private to the Client). When the token must be refreshed, exactly one
// caller in the process fetches it while the others wait, and across
// processes the store's lease lets one instance fetch while the others poll
// the store until the new token appears. WithStableToken uses
// /cgi-bin/stable_token, which hands every instance the same token and is
// the better choice for a fleet. When WeChat rejects a token (40001, 40014,
// 42001), the source drops it only if it is still the current one, so a
// burst of failures refreshes once; the call is then repeated once. A stable
// token is force-refreshed only after such a rejection, when stable_token
// hands back the rejected token, at most once per 30 s and
// WithForceRefreshCap times per day. WithTokenSource plugs in another
// source, such as a central token service.
//
// # Grants
//
// With WithGrantStore, SendSubscribe consumes a grant (store.GrantStore)
// before it sends, and settles it by the outcome:
//
//   - delivered: the grant stays consumed;
//   - 43101, the user refused: every grant of the user for the template is
//     revoked, and the error matches ErrUserRefused;
//   - any other failure, transient (network, 5xx, -1 after the retries) or
//     permanent (40003, 40037, 47003, 41030, …): the grant is refunded,
//     since the user's permission was not used;
//   - no grant: ErrNoGrant, and WeChat is not called.
//
// Refund and Revoke run on a context detached from the caller's, so a caller
// that gives up (cancellation, deadline) never leaks a grant; a panic that
// unwinds through the send (from a custom TokenSource or RoundTripper, say)
// refunds it too.
//
// With a store.ReceiptStore (the memory and Redis stores are), a lost store
// reply loses no grant. The grant is consumed under an operation key: when
// the reply to that consume is lost (the connection dropped after Redis
// ran the script), the consume is asked again under the same key, which
// returns the receipt instead of taking a second grant; if the caller has
// given up meanwhile, the receipt is looked up and refunded. A refund or
// revoke that fails is asked again, with backoff, for WithSettleTimeout
// (5 s by default): settling is exactly once per receipt, so a repeat
// never gives a grant back twice. When the store stays down past that
// bound, the send logs at Error everything needed to settle the receipt by
// hand (openid, template_id, op_key, settlement), and says that the user's
// grants are under-counted until then. With a store that only implements
// store.GrantStore, a failed refund is not repeated (it could give back a
// grant twice) and is logged at Error.
//
// # When a send is repeated, and when it is not
//
// A send is repeated only when it cannot have been delivered: the request
// never finished leaving this process (a refused connection, a failed
// dial), or WeChat answered -1 (busy) or rejected the token. A timeout, a
// dropped connection or an HTTP 5xx after the request was written is
// ambiguous: WeChat may have delivered the message. Repeating it could show
// the user the same message twice, so the Client does not; it returns an
// error wrapping ErrDeliveryUnknown and refunds the grant. The worst a
// wrong refund can do is let a later send through that WeChat then refuses
// with 43101 (WeChat keeps the user's quota itself), which revokes the
// grant. To learn what happened, watch for the subscribe_msg_sent_event
// push. Calls that are safe to repeat (reading templates, fetching a token,
// downloading media) are also repeated after such failures.
//
// The Client tells the two cases apart through net/http/httptrace: once the
// request headers are written, the request counts as possibly delivered
// unless the transport reports that writing it failed. With an http.Client
// whose transport does not report tracing events, every failure after the
// call began counts as ambiguous.
//
// # Errors
//
// WeChat's error answers are *APIError values (errors.As), which match the
// sentinels ErrUserRefused, ErrInvalidData, ErrTokenInvalid, ErrRateLimited
// and ErrBusy (errors.Is). Template data is checked before any network call
// (ValidateData); a bad value is a *DataError naming the keyword and rule.
//
// Package sender/sendertest provides a fake WeChat API for tests.
package sender
