// Package wxsub is WeChat Mini Program subscription messages (订阅消息), end
// to end, for Go servers. This package holds no code: it maps the packages
// of the module.
//
// One callback route, mounted in the server you already have, verifies,
// decrypts, decodes and deduplicates WeChat's pushes and hands your hooks
// typed events. It records which user granted which message template, from
// signed pushes only, in a grant store. The sender sends a message only when
// a grant allows it, and gives the grant back when WeChat did not deliver
// the message.
//
// # Packages
//
//   - [github.com/wxsub/wxsub/middleware]: the callback route,
//     Endpoint.Serve(ctx, Request) Response, independent of any framework.
//   - [github.com/wxsub/wxsub/adapters/httpadapter],
//     [github.com/wxsub/wxsub/adapters/fiberadapter] (Fiber v2) and
//     [github.com/wxsub/wxsub/adapters/fasthttpadapter]: mount an Endpoint
//     in net/http (and every router built on it), Fiber or fasthttp.
//   - [github.com/wxsub/wxsub/handlers]: the typed events and the Mux your
//     hooks are registered on.
//   - [github.com/wxsub/wxsub/codec]: signatures, the safe-mode cipher,
//     push decoding and reply encoding; pure, no I/O.
//   - [github.com/wxsub/wxsub/sender]: the WeChat API client (*sender.Client),
//     which consumes a grant per subscription message.
//   - [github.com/wxsub/wxsub/sender/outbox]: sending later, scheduled and
//     bulk sends that reserve their grant when scheduled, on a job queue:
//     in memory, or [github.com/wxsub/wxsub/sender/outbox/asynqengine] on
//     Redis for a fleet, under a fleet-wide rate limit
//     ([github.com/wxsub/wxsub/sender/outbox/redisfleet]); check your own
//     queue with [github.com/wxsub/wxsub/sender/outbox/outboxtest].
//   - [github.com/wxsub/wxsub/store]: what is remembered (grants, the access
//     token, the pushes already handled), with implementations in
//     [github.com/wxsub/wxsub/store/memory] and
//     [github.com/wxsub/wxsub/store/redis], and the conformance suite for
//     your own in [github.com/wxsub/wxsub/store/storetest].
//   - [github.com/wxsub/wxsub/sender/sendertest] and
//     [github.com/wxsub/wxsub/middleware/pushtest]: a fake WeChat API, and
//     WeChat's pushes, for tests.
//
// The README (https://github.com/wxsub/wxsub#readme) walks through them, and
// example/ in the repository holds a demo, an example app for net/http and
// Fiber, and wxpush, which sends signed pushes to a route from the command
// line.
//
// WeChat's own documentation of subscription messages:
// https://developers.weixin.qq.com/miniprogram/dev/framework/open-ability/subscribe-message.html
package wxsub
