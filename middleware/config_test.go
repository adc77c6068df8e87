package middleware

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // a substring naming the field
	}{
		{"no token", Config{}, "Token"},
		{"plaintext with key", Config{Token: token, Mode: ModePlaintext, EncodingAESKey: aesKey, AppID: appID}, "EncodingAESKey"},
		{"safe without key", Config{Token: token, Mode: ModeSafe, AppID: appID}, "EncodingAESKey"},
		{"compatible without appid", Config{Token: token, Mode: ModeCompatible, EncodingAESKey: aesKey}, "AppID"},
		{"key without appid", Config{Token: token, EncodingAESKey: aesKey}, "AppID"},
		{"short key", Config{Token: token, EncodingAESKey: "abc", AppID: appID}, "EncodingAESKey"},
		{"bad mode", Config{Token: token, Mode: 9}, "Mode"},
		{"negative ttl", Config{Token: token, GrantTTL: -1}, "GrantTTL"},
		{"tiny window", Config{Token: token, ReplayWindow: time.Millisecond}, "ReplayWindow"},
		{"negative window", Config{Token: token, ReplayWindow: -2}, "ReplayWindow"},
		{"negative body", Config{Token: token, MaxBodyBytes: -1}, "MaxBodyBytes"},
		{"hook timeout 5s", Config{Token: token, HookTimeout: 5 * time.Second}, "HookTimeout"},
		{"negative hook timeout", Config{Token: token, HookTimeout: -time.Second}, "HookTimeout"},
		{"negative dedupe ttl", Config{Token: token, DedupeTTL: -1}, "DedupeTTL"},
		{"negative lease", Config{Token: token, DedupeLease: -1}, "DedupeLease"},
		{"negative workers", Config{Token: token, Async: true, Workers: -1}, "Workers"},
		{"negative queue", Config{Token: token, Async: true, QueueSize: -1}, "QueueSize"},
		{"workers without async", Config{Token: token, Workers: 4}, "Async"},
	}
	for _, tt := range tests {
		e, err := New(tt.cfg)
		if e != nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, %v; want an ErrConfig naming %s", tt.name, e, err, tt.want)
		}
	}
}

func TestNewDefaults(t *testing.T) {
	tests := []struct {
		cfg  Config
		mode Mode
	}{
		{Config{Token: token}, ModePlaintext},
		{Config{Token: token, EncodingAESKey: aesKey, AppID: appID}, ModeSafe},
		{Config{Token: token, EncodingAESKey: aesKey, AppID: appID, Mode: ModeCompatible}, ModeCompatible},
		{Config{Token: token, EncodingAESKey: aesKey, AppID: appID, Mode: ModeSafe}, ModeSafe},
		{Config{Token: token, Mode: ModePlaintext}, ModePlaintext},
	}
	for _, tt := range tests {
		e, err := New(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if e.Mode() != tt.mode || e.Mode().String() != tt.mode.String() {
			t.Errorf("Mode() = %v, want %v", e.Mode(), tt.mode)
		}
		if e.maxBody != DefaultMaxBodyBytes || e.hookTimeout != DefaultHookTimeout || e.dedupeTTL != 2*DefaultReplayWindow+DefaultHookTimeout+2*time.Second ||
			e.dedupeLease != DefaultHookTimeout+2*time.Second || e.window != 300 {
			t.Errorf("defaults: body %d hook %v ttl %v lease %v window %d", e.maxBody, e.hookTimeout, e.dedupeTTL, e.dedupeLease, e.window)
		}
	}
	for m, want := range map[Mode]string{0: "auto", ModePlaintext: "plaintext", ModeCompatible: "compatible", ModeSafe: "safe", 7: "auto"} {
		if got := m.String(); got != want {
			t.Errorf("Mode(%d).String() = %q, want %q", m, got, want)
		}
	}
}

// TestReplayWindowCannotWrapTheDedupeTTL is the regression test of issue
// 11 item 4: 2×ReplayWindow + DedupeLease wrapped for windows over ~146
// years (and for a lease near the largest Duration), so that New accepted
// a DedupeTTL of one second, and a captured push could be replayed each
// time its record expired.
func TestReplayWindowCannotWrapTheDedupeTTL(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"200 years, 1 s TTL", Config{Token: token, ReplayWindow: 200 * 365 * 24 * time.Hour, DedupeTTL: time.Second}, "ReplayWindow"},
		{"largest window", Config{Token: token, ReplayWindow: math.MaxInt64}, "ReplayWindow"},
		{"largest window, 1 s TTL", Config{Token: token, ReplayWindow: math.MaxInt64, DedupeTTL: time.Second}, "ReplayWindow"},
		{"just over the bound", Config{Token: token, ReplayWindow: MaxReplayWindow + time.Second}, "ReplayWindow"},
		{"largest lease, 1 s TTL", Config{Token: token, DedupeLease: math.MaxInt64, DedupeTTL: time.Second}, "DedupeTTL"},
		{"lease that wraps, 1 h TTL", Config{Token: token, ReplayWindow: MaxReplayWindow, DedupeLease: math.MaxInt64 - time.Hour, DedupeTTL: time.Hour}, "DedupeTTL"},
	}
	for _, tt := range tests {
		e, err := New(tt.cfg)
		if e != nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: New = %v, %v; want an ErrConfig naming %s", tt.name, e, err, tt.want)
		}
	}
	// The bound itself is accepted, and its minimum TTL is what it says.
	e, err := New(Config{Token: token, ReplayWindow: MaxReplayWindow, DedupeLease: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer closeWithin(t, e, 10*time.Second)
	if want := 2*MaxReplayWindow + time.Second; e.dedupeTTL != want {
		t.Errorf("DedupeTTL = %v, want %v", e.dedupeTTL, want)
	}
}
