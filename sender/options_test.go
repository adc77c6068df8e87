package sender_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
)

type nopSource struct{}

func (nopSource) Token(context.Context) (store.Token, error) { return store.Token{}, nil }
func (nopSource) Invalidate(context.Context, string) error   { return nil }

func TestNewRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		appID  string
		secret string
		opts   []sender.Option
		want   string // substring of the error naming the culprit
	}{
		{"no appid", "", "s", nil, "appID"},
		{"no secret", "wx1", "", nil, "secret"},
		{"relative base", "wx1", "s", []sender.Option{sender.WithBaseURL("api.weixin.qq.com")}, "WithBaseURL"},
		{"ftp base", "wx1", "s", []sender.Option{sender.WithBaseURL("ftp://x")}, "WithBaseURL"},
		{"base with query", "wx1", "s", []sender.Option{sender.WithBaseURL("https://x/?a=1")}, "WithBaseURL"},
		{"zero attempts", "wx1", "s", []sender.Option{sender.WithRetry(sender.RetryPolicy{})}, "WithRetry: MaxAttempts"},
		{"too many attempts", "wx1", "s", []sender.Option{sender.WithRetry(sender.RetryPolicy{MaxAttempts: 11})}, "WithRetry: MaxAttempts"},
		{"negative delay", "wx1", "s", []sender.Option{sender.WithRetry(sender.RetryPolicy{MaxAttempts: 2, BaseDelay: -1})}, "WithRetry: BaseDelay"},
		{"max below base", "wx1", "s", []sender.Option{sender.WithRetry(sender.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Second})}, "WithRetry: MaxDelay"},
		{"huge max delay", "wx1", "s", []sender.Option{sender.WithRetry(sender.RetryPolicy{MaxAttempts: 2, MaxDelay: time.Hour})}, "WithRetry: MaxDelay"},
		{"negative margin", "wx1", "s", []sender.Option{sender.WithRefreshMargin(-time.Second)}, "WithRefreshMargin"},
		{"negative cap", "wx1", "s", []sender.Option{sender.WithForceRefreshCap(-1)}, "WithForceRefreshCap"},
		{"source and store", "wx1", "", []sender.Option{sender.WithTokenSource(nopSource{}), sender.WithTokenStore(memory.New())}, "WithTokenStore"},
		{"source and stable", "wx1", "", []sender.Option{sender.WithTokenSource(nopSource{}), sender.WithStableToken(true)}, "WithStableToken"},
		{"source and margin", "wx1", "", []sender.Option{sender.WithTokenSource(nopSource{}), sender.WithRefreshMargin(time.Minute)}, "WithRefreshMargin"},
		{"source and cap", "wx1", "", []sender.Option{sender.WithTokenSource(nopSource{}), sender.WithForceRefreshCap(3)}, "WithForceRefreshCap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sender.New(tc.appID, tc.secret, tc.opts...)
			if err == nil || c != nil {
				t.Fatalf("New = %v, %v; want an error", c, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

func TestNewAcceptsGoodOptions(t *testing.T) {
	for _, opts := range [][]sender.Option{
		nil,
		{sender.WithBaseURL("http://127.0.0.1:8080/"), sender.WithRetry(sender.RetryPolicy{MaxAttempts: 1})},
		{sender.WithStableToken(true), sender.WithForceRefreshCap(0), sender.WithRefreshMargin(0)},
		{sender.WithTokenStore(memory.New()), sender.WithGrantStore(memory.New()), sender.WithTruncate(true), sender.WithLogger(nil), nil},
	} {
		if _, err := sender.New("wx1", "secret", opts...); err != nil {
			t.Fatalf("New: %v", err)
		}
	}
	if _, err := sender.New("wx1", "", sender.WithTokenSource(nopSource{})); err != nil {
		t.Fatalf("New with a token source and no secret: %v", err)
	}
}
