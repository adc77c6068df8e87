package store

import (
	"errors"
	"testing"
	"time"
)

func TestChecks(t *testing.T) {
	token := Token{AccessToken: "a", ExpiresAt: time.Unix(1, 0)}
	for _, tc := range []struct {
		name string
		err  error
		ok   bool
	}{
		{"ids", CheckIDs("u", "T"), true},
		{"ids no openid", CheckIDs("", "T"), false},
		{"ids no template", CheckIDs("u", ""), false},
		{"add", CheckAddOneTime("u", "T", 1, 0), true},
		{"add n=0", CheckAddOneTime("u", "T", 0, 0), false},
		{"add negative ttl", CheckAddOneTime("u", "T", 1, -1), false},
		{"long-term", CheckSetLongTerm("u", "T", time.Hour), true},
		{"long-term negative ttl", CheckSetLongTerm("u", "T", -1), false},
		{"receipt", CheckReceipt(Receipt{OpenID: "u", TemplateID: "T", Kind: OneTime}), true},
		{"receipt bad kind", CheckReceipt(Receipt{OpenID: "u", TemplateID: "T"}), false},
		{"apply once", CheckApplyOnce("k", time.Minute, "u", "T", RevokeGrant, 0), true},
		{"apply once no key", CheckApplyOnce("", time.Minute, "u", "T", RevokeGrant, 0), false},
		{"apply once zero key ttl", CheckApplyOnce("k", 0, "u", "T", RevokeGrant, 0), false},
		{"apply once bad change", CheckApplyOnce("k", time.Minute, "u", "T", 0, 0), false},
		{"key", CheckKey("token", "k"), true},
		{"key empty", CheckKey("token", ""), false},
		{"key ttl", CheckKeyTTL("lease", "k", time.Second), true},
		{"key ttl zero", CheckKeyTTL("lease", "k", 0), false},
		{"set token", CheckSetToken("k", token), true},
		{"set token no expiry", CheckSetToken("k", Token{AccessToken: "a"}), false},
		{"set token empty", CheckSetToken("k", Token{ExpiresAt: token.ExpiresAt}), false},
		{"invalidate", CheckInvalidateToken("k", "a"), true},
		{"invalidate empty", CheckInvalidateToken("k", ""), false},
		{"lease", CheckLease(Lease{Key: "k", ID: "i"}), true},
		{"lease no id", CheckLease(Lease{Key: "k"}), false},
		{"openid", CheckOpenID("u"), true},
		{"openid empty", CheckOpenID(""), false},
	} {
		if tc.ok && tc.err != nil {
			t.Errorf("%s: %v, want nil", tc.name, tc.err)
		}
		if !tc.ok && !errors.Is(tc.err, ErrInvalidArgument) {
			t.Errorf("%s: %v, want ErrInvalidArgument", tc.name, tc.err)
		}
	}
}
