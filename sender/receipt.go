package sender

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/wxsub/wxsub/store"
)

// sendOpTTL is how long a direct send's operation record (see
// store.ReceiptStore) is kept when the caller's context has no later
// deadline: longer than a send with its retries and its settlement take
// (the default HTTP client gives up after 30 s), and short enough that a
// busy app keeps few of them (one per send in the last five minutes).
const sendOpTTL = 5 * time.Minute

// ErrNoReceiptStore is returned by Reserve and Settle when the Client's
// grant store is not a store.ReceiptStore (or there is none): reserving a
// grant for later needs a store that can find a receipt again.
var ErrNoReceiptStore = errors.New("wxsub/sender: the grant store does not implement store.ReceiptStore")

// SettlementFor returns what a send's outcome does to the grant it
// consumed: Kept when sendErr is nil, Revoked for 43101 (ErrUserRefused),
// Refunded for every other failure, including ErrDeliveryUnknown (WeChat
// enforces each user's quota itself, so a refund after an ambiguous
// failure can at worst earn a later 43101, which revokes the grant).
func SettlementFor(sendErr error) store.Settlement {
	switch {
	case sendErr == nil:
		return store.Kept
	case errors.Is(sendErr, ErrUserRefused):
		return store.Revoked
	}
	return store.Refunded
}

// newOpKey returns a random operation key for a direct send.
func newOpKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never returns an error
	return "send:" + hex.EncodeToString(b[:])
}

// opTTLFor returns the operation record's TTL for a send under ctx.
func (c *Client) opTTLFor(ctx context.Context) time.Duration {
	ttl := sendOpTTL
	if dl, ok := ctx.Deadline(); ok {
		if d := dl.Sub(c.now()) + c.settleTime + time.Minute; d > ttl {
			ttl = d
		}
	}
	return ttl
}

// storeDelay is the pause before asking a grant store again after the
// attempt-th failure: 20 ms doubling to 1 s, less a jitter of up to half,
// so that instances which lost one Redis do not ask again in step.
func storeDelay(attempt int) time.Duration {
	return RetryPolicy{BaseDelay: 20 * time.Millisecond, MaxDelay: time.Second}.delay(attempt)
}

// permanent reports a store error that asking again cannot change.
func permanent(err error) bool {
	return errors.Is(err, store.ErrNoGrant) || errors.Is(err, store.ErrInvalidArgument) || errors.Is(err, store.ErrNotFound)
}

// consume takes a grant for a send of templateID to openID. With a
// store.ReceiptStore it takes it under a fresh operation key, and when the
// store's answer is lost (an error other than "no grant") it asks again
// under the same key for up to the settle time, so that a grant the store
// took is either used by this send or given back, never lost in silence.
func (c *Client) consume(ctx context.Context, openID, templateID string) (store.Receipt, error) {
	rs, ok := c.grants.(store.ReceiptStore)
	if !ok {
		r, err := c.grants.Consume(ctx, openID, templateID)
		if err != nil && !errors.Is(err, store.ErrNoGrant) {
			err = fmt.Errorf("wxsub/sender: consuming a grant: %w", err)
		}
		return r, err
	}
	op, ttl := newOpKey(), c.opTTLFor(ctx)
	r, _, err := rs.ConsumeOnce(ctx, op, ttl, openID, templateID)
	if err == nil || permanent(err) {
		return r, err
	}
	first := err
	// The store may have taken the grant and lost its answer. Ask again
	// under the same key while the caller still wants the send; once it
	// does not, look the receipt up and give the grant back.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.settleTime)
	defer cancel()
	for attempt := 1; ; attempt++ {
		if ctx.Err() == nil {
			r, _, err = rs.ConsumeOnce(ctx, op, ttl, openID, templateID)
			if err == nil || errors.Is(err, store.ErrNoGrant) {
				return r, err
			}
		} else {
			var lr store.Receipt
			lr, _, err = rs.LookupReceipt(sctx, openID, op)
			switch {
			case errors.Is(err, store.ErrNotFound):
				return store.Receipt{}, fmt.Errorf("wxsub/sender: consuming a grant: %w", first)
			case err == nil:
				c.settleOnce(ctx, rs, lr, store.Refunded, first)
				return store.Receipt{}, fmt.Errorf("wxsub/sender: consuming a grant: %w", first)
			}
		}
		if permanent(err) && !errors.Is(err, store.ErrNotFound) {
			return store.Receipt{}, fmt.Errorf("wxsub/sender: consuming a grant: %w", err)
		}
		if serr := sleep(sctx, storeDelay(attempt)); serr != nil {
			c.log.LogAttrs(ctx, slog.LevelError,
				"wxsub/sender: a grant may have been consumed without a send: the grant store did not answer; "+
					"look the receipt up with LookupReceipt and Settle it as refunded",
				slog.String("openid", openID), slog.String("template_id", templateID),
				slog.String("op_key", op), slog.Any("error", err))
			return store.Receipt{}, fmt.Errorf("wxsub/sender: consuming a grant: %w", first)
		}
	}
}

// settle keeps, revokes or refunds the grant a send consumed. It runs on a
// context detached from the caller's cancellation, so that a caller giving
// up never leaks a grant.
func (c *Client) settle(ctx context.Context, r store.Receipt, sendErr error) {
	s := SettlementFor(sendErr)
	if rs, ok := c.grants.(store.ReceiptStore); ok && r.Op != "" {
		if s == store.Kept {
			// A delivered direct send needs no store call: its operation
			// record stays unsettled until it expires, and nothing else
			// can settle it.
			return
		}
		c.settleOnce(ctx, rs, r, s, sendErr)
		return
	}
	if s == store.Kept {
		return
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.settleTime)
	defer cancel()
	if s == store.Revoked {
		if err := c.grants.Revoke(sctx, r.OpenID, r.TemplateID); err != nil {
			c.log.LogAttrs(ctx, slog.LevelError, "wxsub/sender: revoking a refused grant",
				slog.String("openid", r.OpenID), slog.String("template_id", r.TemplateID), slog.Any("error", err))
		}
		return
	}
	// A store without operation keys cannot tell a lost answer from a
	// refund not made, so the refund is not repeated: a second one could
	// give back a grant the user never gave.
	if err := c.grants.Refund(sctx, r); err != nil {
		c.log.LogAttrs(ctx, slog.LevelError, "wxsub/sender: refunding a grant after a failed send; the grant is lost "+
			"(a store implementing store.ReceiptStore lets the refund be retried safely)",
			slog.String("openid", r.OpenID), slog.String("template_id", r.TemplateID),
			slog.String("kind", r.Kind.String()), slog.String("generation", r.Generation),
			slog.Any("send_error", sendErr), slog.Any("error", err))
	}
}

// settleOnce settles r as s, asking the store again for up to the settle
// time when it does not answer (Settle is exactly once per receipt, so a
// repeat is safe). It returns the settlement in force, and logs at Error
// what it could not settle, with what is needed to settle it by hand.
func (c *Client) settleOnce(ctx context.Context, rs store.ReceiptStore, r store.Receipt, s store.Settlement, cause error) (store.Settlement, error) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.settleTime)
	defer cancel()
	for attempt := 1; ; attempt++ {
		got, err := rs.Settle(sctx, r, s)
		if err == nil {
			if got != s {
				c.log.LogAttrs(ctx, slog.LevelInfo, "wxsub/sender: receipt was settled before",
					slog.String("openid", r.OpenID), slog.String("template_id", r.TemplateID),
					slog.String("op_key", r.Op), slog.String("settlement", got.String()), slog.String("wanted", s.String()))
			}
			return got, nil
		}
		if permanent(err) {
			c.log.LogAttrs(ctx, slog.LevelError, "wxsub/sender: cannot settle a receipt",
				slog.String("openid", r.OpenID), slog.String("template_id", r.TemplateID),
				slog.String("op_key", r.Op), slog.String("settlement", s.String()),
				slog.Any("send_error", cause), slog.Any("error", err))
			return store.Unsettled, fmt.Errorf("wxsub/sender: settling a receipt: %w", err)
		}
		if serr := sleep(sctx, storeDelay(attempt)); serr != nil {
			msg := "wxsub/sender: the grant store did not answer for the settle time: receipt left unsettled"
			if s == store.Refunded {
				msg += "; the user's grants are under-counted by one until it is settled by hand"
			}
			c.log.LogAttrs(ctx, slog.LevelError, msg,
				slog.String("openid", r.OpenID), slog.String("template_id", r.TemplateID),
				slog.String("op_key", r.Op), slog.String("kind", r.Kind.String()),
				slog.String("generation", r.Generation), slog.String("settlement", s.String()),
				slog.Int("attempts", attempt), slog.Any("send_error", cause), slog.Any("error", err))
			return store.Unsettled, fmt.Errorf("wxsub/sender: settling a receipt: %w", err)
		}
	}
}

// Reserve checks m as SendSubscribe does and takes a grant for it under
// opKey, for a send made later with SendReserved: the grant is consumed
// now, so nothing else can spend it meanwhile. Reserving the same opKey
// for the same user again takes nothing more and returns the receipt taken
// first, with its settlement so far (store.Unsettled until Settle). opTTL
// (> 0) is how long the reservation can be found again; keep it longer
// than the send can wait.
//
// It returns ErrNoGrant when the user holds no grant, ErrInvalidMessage
// or ErrInvalidData for a message SendSubscribe would refuse, and
// ErrNoReceiptStore when the Client's grant store is not a
// store.ReceiptStore (the memory and Redis stores are). Package
// sender/outbox builds scheduled sends on it.
func (c *Client) Reserve(ctx context.Context, opKey string, opTTL time.Duration, m SubscribeMessage) (store.Receipt, store.Settlement, error) {
	if _, err := c.checkSubscribe(&m); err != nil {
		return store.Receipt{}, store.Unsettled, err
	}
	rs, ok := c.grants.(store.ReceiptStore)
	if !ok {
		return store.Receipt{}, store.Unsettled, ErrNoReceiptStore
	}
	r, s, err := rs.ConsumeOnce(ctx, opKey, opTTL, m.ToUser, m.TemplateID)
	if err != nil && !errors.Is(err, store.ErrNoGrant) {
		err = fmt.Errorf("wxsub/sender: reserving a grant: %w", err)
	}
	return r, s, err
}

// Settle settles a receipt from Reserve: Kept after delivery, Refunded when
// the message was not delivered or its send was cancelled, Revoked after
// 43101 (SettlementFor maps a send's error to one). It is exactly once per
// receipt, so it is safe to call again, from any instance: it returns the
// settlement in force, which is an earlier one when the receipt was
// settled before. A store that does not answer is asked again for up to
// the Client's settle time; what still cannot be settled is logged at
// Error with the receipt's operation key.
func (c *Client) Settle(ctx context.Context, r store.Receipt, s store.Settlement) (store.Settlement, error) {
	rs, ok := c.grants.(store.ReceiptStore)
	if !ok {
		return store.Unsettled, ErrNoReceiptStore
	}
	if err := store.CheckSettle(r, s); err != nil {
		return store.Unsettled, err
	}
	return c.settleOnce(ctx, rs, r, s, nil)
}
