package sender

import (
	"errors"
	"fmt"
	"testing"

	"github.com/wxsub/wxsub/store"
)

func TestAPIErrorIs(t *testing.T) {
	sentinels := []error{ErrUserRefused, ErrInvalidData, ErrTokenInvalid, ErrRateLimited, ErrBusy, ErrNoGrant, ErrDeliveryUnknown}
	for _, tc := range []struct {
		code int
		want error // nil: matches none
	}{
		{-1, ErrBusy},
		{40001, ErrTokenInvalid},
		{40014, ErrTokenInvalid},
		{42001, ErrTokenInvalid},
		{43101, ErrUserRefused},
		{47003, ErrInvalidData},
		{45009, ErrRateLimited},
		{45011, ErrRateLimited},
		{45015, ErrRateLimited},
		{45047, ErrRateLimited},
		{40003, nil},
		{40037, nil},
		{41030, nil},
		{0, nil},
	} {
		err := fmt.Errorf("wrapped: %w", &APIError{Code: tc.code, Msg: "m", API: "/x"})
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tc.want) {
				t.Errorf("code %d: errors.Is(%v) = %v", tc.code, s, got)
			}
		}
		var ae *APIError
		if !errors.As(err, &ae) || ae.Code != tc.code {
			t.Errorf("code %d: errors.As failed", tc.code)
		}
	}
}

func TestErrorMessages(t *testing.T) {
	e := &APIError{Code: 43101, Msg: "user refuse to accept the msg", API: "/cgi-bin/message/subscribe/send"}
	if got, want := e.Error(), "wxsub/sender: /cgi-bin/message/subscribe/send: errcode 43101: user refuse to accept the msg"; got != want {
		t.Errorf("APIError.Error() = %q, want %q", got, want)
	}
	h := &HTTPError{API: "/cgi-bin/token", StatusCode: 502}
	if got, want := h.Error(), "wxsub/sender: /cgi-bin/token: HTTP status 502"; got != want {
		t.Errorf("HTTPError.Error() = %q, want %q", got, want)
	}
	if ErrNoGrant != store.ErrNoGrant {
		t.Error("ErrNoGrant is not store.ErrNoGrant")
	}
}

func TestDataKeyword(t *testing.T) {
	for _, tc := range []struct{ msg, want string }{
		{"argument invalid! data.phrase16.value is invalid", "phrase16"},
		{"argument invalid! data.thing1.value is empty rid: 6613", "thing1"},
		{"argument invalid!", ""},
		{"data..value", ""},
		{"data.a b.value", ""},
		{"data.thing1", ""},
	} {
		e := &APIError{Code: 47003, Msg: tc.msg}
		if got := e.DataKeyword(); got != tc.want {
			t.Errorf("DataKeyword(%q) = %q, want %q", tc.msg, got, tc.want)
		}
	}
}
