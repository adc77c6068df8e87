package store

import (
	"fmt"
	"time"
)

// The Check functions are the argument rules of this package's interfaces,
// in one place: every store calls them first (ours do), so that all stores
// reject the same calls with errors wrapping ErrInvalidArgument, as the
// storetest suite expects.

func invalid(format string, args ...any) error {
	return fmt.Errorf("wxsub/store: %w: %s", ErrInvalidArgument, fmt.Sprintf(format, args...))
}

// CheckOpenID checks the openid argument of List and DeleteUser.
func CheckOpenID(openID string) error {
	if openID == "" {
		return invalid("empty openid")
	}
	return nil
}

// CheckIDs checks the openid and template id of a grant method.
func CheckIDs(openID, templateID string) error {
	if err := CheckOpenID(openID); err != nil {
		return err
	}
	if templateID == "" {
		return invalid("empty template id")
	}
	return nil
}

// CheckGrantTTL checks the ttl of AddOneTime, SetLongTerm and ApplyOnce
// (0 means never expires; negative is invalid).
func CheckGrantTTL(ttl time.Duration) error {
	if ttl < 0 {
		return invalid("negative ttl %v", ttl)
	}
	return nil
}

// CheckAddOneTime checks the arguments of GrantStore.AddOneTime.
func CheckAddOneTime(openID, templateID string, n int64, ttl time.Duration) error {
	if err := CheckIDs(openID, templateID); err != nil {
		return err
	}
	if n < 1 {
		return invalid("n = %d, want at least 1", n)
	}
	return CheckGrantTTL(ttl)
}

// CheckReceipt checks a receipt passed to GrantStore.Refund.
func CheckReceipt(r Receipt) error {
	if err := CheckIDs(r.OpenID, r.TemplateID); err != nil {
		return err
	}
	if r.Kind != OneTime && r.Kind != LongTerm {
		return invalid("receipt kind %v", r.Kind)
	}
	return nil
}

// CheckApplyOnce checks the arguments of OnceGrantStore.ApplyOnce.
func CheckApplyOnce(opKey string, opTTL time.Duration, openID, templateID string, change GrantChange, ttl time.Duration) error {
	if err := CheckIDs(openID, templateID); err != nil {
		return err
	}
	if err := checkOp(opKey, opTTL); err != nil {
		return err
	}
	if change != AddOneTimeGrant && change != SetLongTermGrant && change != RevokeGrant {
		return invalid("grant change %d", change)
	}
	return CheckGrantTTL(ttl)
}

// CheckKey checks the key of a token, lease or dedupe method; what names
// it in the error ("token", "lease", "dedupe").
func CheckKey(what, key string) error {
	if key == "" {
		return invalid("empty %s key", what)
	}
	return nil
}

// CheckKeyTTL checks a key and a TTL that must be positive: AcquireLease,
// DedupeStore.Begin and DedupeStore.Done.
func CheckKeyTTL(what, key string, ttl time.Duration) error {
	if err := CheckKey(what, key); err != nil {
		return err
	}
	if ttl <= 0 {
		return invalid("%s ttl %v, want a positive duration", what, ttl)
	}
	return nil
}

// CheckSetToken checks the arguments of TokenStore.SetToken.
func CheckSetToken(key string, t Token) error {
	if err := CheckInvalidateToken(key, t.AccessToken); err != nil {
		return err
	}
	if t.ExpiresAt.IsZero() {
		return invalid("token without ExpiresAt")
	}
	return nil
}

// CheckInvalidateToken checks the arguments of TokenStore.InvalidateToken.
func CheckInvalidateToken(key, accessToken string) error {
	if err := CheckKey("token", key); err != nil {
		return err
	}
	if accessToken == "" {
		return invalid("empty access token")
	}
	return nil
}

// CheckLease checks a lease passed to TokenStore.ReleaseLease.
func CheckLease(l Lease) error {
	if l.Key == "" || l.ID == "" {
		return invalid("lease without key or ID")
	}
	return nil
}

// CheckSetLongTerm checks the arguments of GrantStore.SetLongTerm.
func CheckSetLongTerm(openID, templateID string, ttl time.Duration) error {
	if err := CheckIDs(openID, templateID); err != nil {
		return err
	}
	return CheckGrantTTL(ttl)
}

// CheckConsumeOnce checks the arguments of ReceiptStore.ConsumeOnce.
func CheckConsumeOnce(opKey string, opTTL time.Duration, openID, templateID string) error {
	if err := CheckIDs(openID, templateID); err != nil {
		return err
	}
	return checkOp(opKey, opTTL)
}

func checkOp(opKey string, opTTL time.Duration) error {
	if opKey == "" {
		return invalid("empty operation key")
	}
	if opTTL <= 0 {
		return invalid("operation key ttl %v, want a positive duration", opTTL)
	}
	return nil
}

// CheckSettle checks the arguments of ReceiptStore.Settle.
func CheckSettle(r Receipt, s Settlement) error {
	if err := CheckReceipt(r); err != nil {
		return err
	}
	if r.Op == "" {
		return invalid("receipt without an operation key (not taken by ConsumeOnce)")
	}
	if s != Kept && s != Refunded && s != Revoked {
		return invalid("settlement %v", s)
	}
	return nil
}

// CheckLookupReceipt checks the arguments of ReceiptStore.LookupReceipt.
func CheckLookupReceipt(openID, opKey string) error {
	if err := CheckOpenID(openID); err != nil {
		return err
	}
	if opKey == "" {
		return invalid("empty operation key")
	}
	return nil
}
