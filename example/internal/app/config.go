// Package app is the example application that example/nethttp and
// example/fiber both serve: one contract, configured by environment
// variables, mounted in two frameworks.
package app

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wxsub/wxsub/internal/redisaddr"
	"github.com/wxsub/wxsub/middleware"
)

// Config is the example app's configuration, read from the environment.
type Config struct {
	AppID         string        // WECHAT_APPID (required)
	Secret        string        // WECHAT_SECRET (required)
	Token         string        // WECHAT_TOKEN (required)
	AESKey        string        // WECHAT_AES_KEY (optional; empty: plaintext mode only)
	APIBase       string        // WECHAT_API_BASE (optional; default: the real WeChat API)
	Addr          string        // ADDR (default 127.0.0.1:8080)
	RedisURL      string        // REDIS_URL (optional; host:port or redis://…; when set, state lives in Redis)
	LongTerm      []string      // WECHAT_LONG_TERM_TEMPLATES (comma-separated)
	StableToken   bool          // WECHAT_STABLE_TOKEN=1
	ReplayWindow  time.Duration // WECHAT_REPLAY_WINDOW (default 5m; 0 disables)
	NoReplayCheck bool          // set when WECHAT_REPLAY_WINDOW is 0
	DedupeTTL     time.Duration // WECHAT_DEDUPE_TTL (default: the route's, 10m)
	Async         bool          // WECHAT_ASYNC=1: answer at once, run hooks on a worker pool
	LogLevel      slog.Level    // WECHAT_LOG_LEVEL: debug, info (default), warn or error
	// Mode is WECHAT_MODE: "plaintext", "compatible", "safe", or "" for
	// the route's default (safe with an AES key, plaintext without).
	Mode string
}

// DefaultAPIBase is the real WeChat API, used when WECHAT_API_BASE is unset.
const DefaultAPIBase = "https://api.weixin.qq.com"

// LoadConfig reads the configuration through getenv (os.Getenv in the
// programs) and returns an error naming the first missing or invalid
// variable.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		AppID:        strings.TrimSpace(getenv("WECHAT_APPID")),
		Secret:       strings.TrimSpace(getenv("WECHAT_SECRET")),
		Token:        strings.TrimSpace(getenv("WECHAT_TOKEN")),
		AESKey:       strings.TrimSpace(getenv("WECHAT_AES_KEY")),
		APIBase:      strings.TrimSpace(getenv("WECHAT_API_BASE")),
		Addr:         strings.TrimSpace(getenv("ADDR")),
		RedisURL:     strings.TrimSpace(getenv("REDIS_URL")),
		ReplayWindow: 5 * time.Minute,
	}
	for _, req := range []struct{ name, value string }{
		{"WECHAT_APPID", c.AppID}, {"WECHAT_SECRET", c.Secret}, {"WECHAT_TOKEN", c.Token},
	} {
		if req.value == "" {
			return Config{}, fmt.Errorf("%s is required", req.name)
		}
	}
	if c.AESKey != "" && len(c.AESKey) != 43 {
		return Config{}, fmt.Errorf("WECHAT_AES_KEY must be 43 characters (the EncodingAESKey from the mini-program admin), got %d", len(c.AESKey))
	}
	if c.APIBase == "" {
		c.APIBase = DefaultAPIBase
	} else if !strings.HasPrefix(c.APIBase, "http://") && !strings.HasPrefix(c.APIBase, "https://") {
		return Config{}, errors.New("WECHAT_API_BASE must start with http:// or https://")
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.RedisURL != "" {
		if _, err := redisaddr.Options(c.RedisURL); err != nil {
			return Config{}, fmt.Errorf("REDIS_URL must be %s: %w", redisaddr.Forms, err)
		}
	}
	for _, id := range strings.Split(getenv("WECHAT_LONG_TERM_TEMPLATES"), ",") {
		if id = strings.TrimSpace(id); id != "" {
			c.LongTerm = append(c.LongTerm, id)
		}
	}
	switch v := strings.TrimSpace(getenv("WECHAT_STABLE_TOKEN")); v {
	case "", "0", "false":
	case "1", "true":
		c.StableToken = true
	default:
		return Config{}, fmt.Errorf("WECHAT_STABLE_TOKEN must be 1 or 0, got %q", v)
	}
	switch c.Mode = strings.TrimSpace(getenv("WECHAT_MODE")); c.Mode {
	case "":
	case "compatible", "safe":
		if c.AESKey == "" {
			return Config{}, fmt.Errorf("WECHAT_MODE=%s needs WECHAT_AES_KEY", c.Mode)
		}
	case "plaintext":
		if c.AESKey != "" {
			return Config{}, errors.New("WECHAT_MODE=plaintext with WECHAT_AES_KEY set: unset one of them")
		}
	default:
		return Config{}, fmt.Errorf("WECHAT_MODE must be plaintext, compatible or safe, got %q", c.Mode)
	}
	if v := strings.TrimSpace(getenv("WECHAT_REPLAY_WINDOW")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < time.Second) {
			return Config{}, fmt.Errorf("WECHAT_REPLAY_WINDOW must be a Go duration of at least 1s, such as 5m (0 disables the check), got %q", v)
		}
		c.ReplayWindow = d
		c.NoReplayCheck = d == 0
	}
	switch v := strings.TrimSpace(getenv("WECHAT_ASYNC")); v {
	case "", "0":
	case "1":
		c.Async = true
	default:
		return Config{}, fmt.Errorf("WECHAT_ASYNC must be 1 or 0, got %q", v)
	}
	if v := strings.TrimSpace(getenv("WECHAT_DEDUPE_TTL")); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("WECHAT_DEDUPE_TTL must be a positive Go duration such as 10m, got %q", v)
		}
		// The route's rule (middleware.Config.DedupeTTL): a push must be
		// remembered while its timestamp is accepted, 2 × the replay
		// window, plus the claim's lease (HookTimeout + 2 s by default).
		if least := 2*c.ReplayWindow + middleware.DefaultHookTimeout + 2*time.Second; !c.NoReplayCheck && d < least {
			return Config{}, fmt.Errorf("WECHAT_DEDUPE_TTL=%s is too short: it must be at least 2 × WECHAT_REPLAY_WINDOW + 6s (%v here), "+
				"so that a captured push cannot be replayed while its timestamp is accepted", v, least)
		}
		c.DedupeTTL = d
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("WECHAT_LOG_LEVEL"))); v {
	case "", "info":
		c.LogLevel = slog.LevelInfo
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		return Config{}, fmt.Errorf("WECHAT_LOG_LEVEL must be debug, info, warn or error, got %q", v)
	}
	return c, nil
}
