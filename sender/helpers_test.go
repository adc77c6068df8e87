package sender_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/wxsub/wxsub/internal/redistest"
	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
	redisstore "github.com/wxsub/wxsub/store/redis"
)

// sharedStore is what both real stores implement.
type sharedStore interface {
	store.GrantStore
	store.TokenStore
}

// storeKinds are the stores every grant-outcome and token-sharing test runs
// against. The Redis one uses the shared server with a per-test prefix.
var storeKinds = []struct {
	name string
	open func(t *testing.T) sharedStore
}{
	{"memory", func(t *testing.T) sharedStore { return memory.New() }},
	{"redis", func(t *testing.T) sharedStore {
		c, prefix := redistest.Client(t)
		s, err := redisstore.New(c, redisstore.WithPrefix(prefix))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}},
}

// fastRetry keeps retry tests quick.
var fastRetry = sender.RetryPolicy{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}

// newClient returns a Client pointed at srv with fast retries.
func newClient(t testing.TB, srv *sendertest.Server, opts ...sender.Option) *sender.Client {
	t.Helper()
	all := append([]sender.Option{sender.WithBaseURL(srv.URL), sender.WithRetry(fastRetry)}, opts...)
	c, err := sender.New(srv.AppID, srv.Secret, all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// patientHTTP gives a client the default client's connection limits and
// a 5-minute timeout instead of 30 s, for tests that send a thousand
// messages at once: on a busy 2-core machine with -race the last of them
// can wait longer than 30 s for the fake WeChat, and what those tests
// check (one token fetch for all) has nothing to do with the timeout.
func patientHTTP() sender.Option {
	return sender.WithHTTPClient(&http.Client{Timeout: 5 * time.Minute, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 128, MaxConnsPerHost: 256, IdleConnTimeout: 30 * time.Second,
	}})
}

// newServer starts a fake WeChat that is closed when the test ends.
func newServer(t testing.TB, opts ...sendertest.Option) *sendertest.Server {
	t.Helper()
	srv := sendertest.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

func message(user, template string) sender.SubscribeMessage {
	return sender.SubscribeMessage{
		ToUser:     user,
		TemplateID: template,
		Page:       "pages/order/detail?id=42",
		Data: map[string]string{
			"thing1":             "地铁1号线",
			"amount2":            "¥5.00",
			"time3":              "2024年10月1日 15:01",
			"character_string4":  "ORD-2024-0001",
			"phrase5":            "已支付",
			"number6":            "2",
			"name7":              "张三",
			"phone_number8":      "+86-0766-66888866",
			"car_number9":        "粤A8Z888挂",
			"date10":             "10月1日",
			"letter11":           "abc",
			"symbol12":           "+",
			"enum13":             "delivered",
			"unknownkeyword14":   "anything at all, any length, it is not checked",
			"character_string15": "A1",
		},
		MiniProgramState: sender.StateFormal,
		Lang:             sender.LangZhCN,
	}
}
