package app

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func baseEnv() map[string]string {
	return map[string]string{
		"WECHAT_APPID":  "wxba5fad812f8e6fb9",
		"WECHAT_SECRET": "s3cret",
		"WECHAT_TOKEN":  "AAAAA",
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	c, err := LoadConfig(envOf(baseEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.APIBase != DefaultAPIBase || c.ReplayWindow != 5*time.Minute ||
		c.NoReplayCheck || c.StableToken || c.RedisURL != "" || c.AESKey != "" || len(c.LongTerm) != 0 ||
		c.LogLevel != slog.LevelInfo {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadConfigValues(t *testing.T) {
	env := baseEnv()
	env["WECHAT_AES_KEY"] = strings.Repeat("A", 43)
	env["WECHAT_API_BASE"] = "http://127.0.0.1:9000"
	env["ADDR"] = "127.0.0.1:0"
	env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
	env["WECHAT_LONG_TERM_TEMPLATES"] = " t1, ,t2 "
	env["WECHAT_STABLE_TOKEN"] = "1"
	env["WECHAT_REPLAY_WINDOW"] = "0"
	env["WECHAT_MODE"] = "compatible"
	env["WECHAT_DEDUPE_TTL"] = "90s"
	env["WECHAT_ASYNC"] = "1"
	env["WECHAT_LOG_LEVEL"] = "Warn"
	c, err := LoadConfig(envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIBase != "http://127.0.0.1:9000" || c.Addr != "127.0.0.1:0" || !c.StableToken ||
		!c.NoReplayCheck || c.ReplayWindow != 0 || strings.Join(c.LongTerm, "|") != "t1|t2" || c.Mode != "compatible" ||
		c.DedupeTTL != 90*time.Second || !c.Async || c.LogLevel != slog.LevelWarn {
		t.Fatalf("values: %+v", c)
	}
}

func TestLoadConfigErrorsNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		key, value, want string
	}{
		{"WECHAT_APPID", "", "WECHAT_APPID"},
		{"WECHAT_SECRET", " ", "WECHAT_SECRET"},
		{"WECHAT_TOKEN", "", "WECHAT_TOKEN"},
		{"WECHAT_AES_KEY", "short", "WECHAT_AES_KEY"},
		{"WECHAT_API_BASE", "api.weixin.qq.com", "WECHAT_API_BASE"},
		{"REDIS_URL", "127.0.0.1", "REDIS_URL"},
		{"REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL"},
		{"WECHAT_STABLE_TOKEN", "yes", "WECHAT_STABLE_TOKEN"},
		{"WECHAT_REPLAY_WINDOW", "5 minutes", "WECHAT_REPLAY_WINDOW"},
		{"WECHAT_REPLAY_WINDOW", "-1m", "WECHAT_REPLAY_WINDOW"},
		{"WECHAT_DEDUPE_TTL", "10 minutes", "WECHAT_DEDUPE_TTL"},
		{"WECHAT_ASYNC", "yes", "WECHAT_ASYNC"},
		{"WECHAT_DEDUPE_TTL", "0", "WECHAT_DEDUPE_TTL"},
		{"WECHAT_DEDUPE_TTL", "1m", "WECHAT_DEDUPE_TTL"}, // below 2 × the default 5m window + 6s
		{"WECHAT_REPLAY_WINDOW", "500ms", "WECHAT_REPLAY_WINDOW"},
		{"WECHAT_LOG_LEVEL", "verbose", "WECHAT_LOG_LEVEL"},
		{"WECHAT_MODE", "secure", "WECHAT_MODE"},
		{"WECHAT_MODE", "safe", "WECHAT_MODE"}, // no AES key in the base env
	} {
		env := baseEnv()
		env[tc.key] = tc.value
		_, err := LoadConfig(envOf(env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%q: error %v, want one naming %s", tc.key, tc.value, err, tc.want)
		}
	}
}

// Both forms of a Redis address are taken, as WXSUB_REDIS_ADDR takes them in
// the tests; a DedupeTTL long enough for the replay window is taken.
func TestLoadConfigAcceptsBothRedisForms(t *testing.T) {
	for _, v := range []string{"127.0.0.1:6379", "redis://127.0.0.1:6379/0", "rediss://:pw@cache:6380"} {
		env := baseEnv()
		env["REDIS_URL"] = v
		if c, err := LoadConfig(envOf(env)); err != nil || c.RedisURL != v {
			t.Errorf("REDIS_URL=%s: %+v, %v", v, c, err)
		}
	}
	env := baseEnv()
	env["WECHAT_DEDUPE_TTL"] = "10m6s"
	if c, err := LoadConfig(envOf(env)); err != nil || c.DedupeTTL != 606*time.Second {
		t.Errorf("WECHAT_DEDUPE_TTL=10m6s: %+v, %v", c, err)
	}
	env["WECHAT_REPLAY_WINDOW"] = "1m"
	env["WECHAT_DEDUPE_TTL"] = "2m6s"
	if _, err := LoadConfig(envOf(env)); err != nil {
		t.Errorf("WECHAT_DEDUPE_TTL=2m6s with a 1m window: %v", err)
	}
}
