package middleware

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// logRecord is one line of a JSON slog handler, with the keys the route's
// rejection lines use.
type logRecord struct {
	Level      string `json:"level"`
	Msg        string `json:"msg"`
	Status     int    `json:"status"`
	Reason     string `json:"reason"`
	Check      string `json:"check"`
	Suppressed *int64 `json:"suppressed"`
}

// jsonLogger logs at level and above into a buffer that records reads back.
func jsonLogger(level slog.Level) (*slog.Logger, func(t *testing.T) []logRecord) {
	lb := new(logBuffer)
	l := slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: level}))
	return l, func(t *testing.T) []logRecord {
		t.Helper()
		var out []logRecord
		for _, line := range strings.Split(strings.TrimSpace(lb.String()), "\n") {
			if line == "" {
				continue
			}
			var r logRecord
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("log line %q: %v", line, err)
			}
			out = append(out, r)
		}
		return out
	}
}

// v3Push is the official encrypted push vector: a request WeChat signed
// with token and encrypted with aesKey for appID.
func v3Push() Request {
	return post("signature="+v3Signature+"&timestamp="+v3Timestamp+"&nonce="+v3Nonce+
		"&openid="+openID+"&encrypt_type=aes&msg_signature="+v3MsgSignature, v3Body)
}

// The three setup mistakes of day one each show up at the default level
// (Info) on the first push, naming the setting to check.
func TestSetupMistakesAreWarnings(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		status  int
		reason  string
		setting string
	}{
		{"wrong Token", Config{Token: "not-the-console-token", EncodingAESKey: aesKey, AppID: appID},
			403, ReasonBadSignature, "Config.Token"},
		{"wrong EncodingAESKey", Config{EncodingAESKey: "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", AppID: appID},
			400, ReasonDecrypt, "Config.EncodingAESKey"},
		{"wrong AppID", Config{EncodingAESKey: aesKey, AppID: "wx0000000000000000"},
			400, ReasonAppID, "Config.AppID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, records := jsonLogger(slog.LevelInfo)
			tt.cfg.Logger = log
			tt.cfg.Now = clock(1714112445)
			e := newEndpoint(t, tt.cfg)
			checkResponse(t, tt.name, e.Serve(context.Background(), v3Push()), tt.status, tt.reason)
			got := records(t)
			if len(got) != 1 {
				t.Fatalf("%d log lines, want 1: %+v", len(got), got)
			}
			r := got[0]
			if r.Level != "WARN" || r.Msg != "wxsub: request rejected" || r.Status != tt.status || r.Reason != tt.reason ||
				!strings.Contains(r.Check, tt.setting) || r.Suppressed == nil || *r.Suppressed != 0 {
				t.Errorf("log line %+v; want a WARN for %d %q whose check names %s, suppressed 0", r, tt.status, tt.reason, tt.setting)
			}
		})
	}
}

// A flood of forged requests logs one warning a minute per reason; every
// other rejection is a debug line, counted in the next warning.
func TestRejectWarningsAreRateLimited(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Unix(1714112445, 0)
	)
	advance := func(d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(d)
	}
	log, records := jsonLogger(slog.LevelDebug)
	e := newEndpoint(t, Config{Logger: log, ReplayWindow: NoReplayCheck, Now: func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}})
	forged := post("signature=0000&timestamp=1&nonce=2", popupXML(openID, 1, [2]string{"T1", "accept"}))
	serve := func(req Request, n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() {
				checkResponse(t, "forged", e.Serve(context.Background(), req), 403, ReasonBadSignature)
			})
		}
		wg.Wait()
	}
	type count struct{ warn, debug int }
	tally := func(reason string) (c count, last logRecord) {
		for _, r := range records(t) {
			if r.Reason != reason || r.Msg != "wxsub: request rejected" {
				continue
			}
			switch r.Level {
			case "WARN":
				c.warn++
				last = r
			case "DEBUG":
				c.debug++
			}
		}
		return c, last
	}

	serve(forged, 500) // concurrently: one of them wins the warning
	if c, last := tally(ReasonBadSignature); c != (count{1, 499}) || *last.Suppressed != 0 {
		t.Fatalf("after 500 forged requests: %+v, last warning %+v; want 1 warning (suppressed 0) and 499 debug lines", c, last)
	}
	advance(rejectWarnEvery - time.Second)
	serve(forged, 1)
	if c, _ := tally(ReasonBadSignature); c != (count{1, 500}) {
		t.Fatalf("within the minute: %+v, want still 1 warning", c)
	}
	// Another reason has its own budget.
	checkResponse(t, "PUT", e.Serve(context.Background(), Request{Method: "PUT"}), 405, ReasonMethod)
	if c, _ := tally(ReasonMethod); c != (count{1, 0}) {
		t.Fatalf("first 405: %+v, want its own warning", c)
	}
	advance(time.Second)
	serve(forged, 1)
	c, last := tally(ReasonBadSignature)
	if c != (count{2, 500}) || *last.Suppressed != 500 {
		t.Fatalf("a minute later: %+v, last warning %+v; want a second warning counting the 500 debug lines", c, last)
	}
	if !strings.Contains(last.Check, "Config.Token") {
		t.Errorf("warning's check %q does not name Config.Token", last.Check)
	}
}

// At the Warn level a flood writes one line, and a rejection is never
// dropped unlogged at Debug.
func TestRejectLogAtWarnLevel(t *testing.T) {
	log, records := jsonLogger(slog.LevelWarn)
	e := newEndpoint(t, Config{Logger: log})
	for range 100 {
		checkResponse(t, "no signature", e.Serve(context.Background(), post("", "<xml/>")), 401, ReasonMissingParams)
	}
	if got := records(t); len(got) != 1 || got[0].Reason != ReasonMissingParams || got[0].Check == "" {
		t.Fatalf("log at Warn after 100 rejections: %+v, want one warning with a check", got)
	}
}

// Every reason refuse is called with has a hint and its own budget.
func TestEveryRejectReasonHasAHint(t *testing.T) {
	l := newRejectLog()
	for reason := range l.reasons {
		if h := rejectHint(reason); h == "" || strings.HasPrefix(h, "see the status table") {
			t.Errorf("reason %q has no hint of its own: %q", reason, h)
		}
	}
	if _, ok := l.warn("not a reason", time.Unix(0, 0)); !ok {
		t.Errorf("an unknown reason got no warning")
	}
}
