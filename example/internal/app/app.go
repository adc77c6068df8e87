package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/wxsub/wxsub/handlers"
	"github.com/wxsub/wxsub/internal/redisaddr"
	"github.com/wxsub/wxsub/middleware"
	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
	"github.com/wxsub/wxsub/store"
	"github.com/wxsub/wxsub/store/memory"
	wxredis "github.com/wxsub/wxsub/store/redis"
)

// redisCheckTimeout bounds the start-up check of REDIS_URL.
const redisCheckTimeout = 3 * time.Second

// App is the example application, independent of the web framework: the
// callback Endpoint to mount, and the handlers behind /send and /grants.
type App struct {
	// Endpoint is the callback route, to mount at /wechat/callback.
	Endpoint *middleware.Endpoint
	// Sender sends subscription messages, consuming grants.
	Sender *sender.Client
	// Grants is where the callback route records grants and the sender
	// consumes them.
	Grants store.GrantStore
	// Outbox schedules sends for later (POST /schedule): in memory, or on
	// Redis with asynq when REDIS_URL is set.
	Outbox *outbox.Outbox

	log   *slog.Logger
	redis *goredis.Client
}

// New builds the app: stores (in memory, or in Redis when cfg.RedisURL is
// set), the hooks, the callback Endpoint and the sender.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	a := &App{log: log}
	var (
		grants store.GrantStore
		tokens store.TokenStore
		dedupe store.DedupeStore
	)
	if cfg.RedisURL != "" {
		opts, err := redisaddr.Options(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL must be %s: %w", redisaddr.Forms, err)
		}
		// One quiet connection attempt first: go-redis would retry the
		// dial and log a line for each attempt before giving up.
		if err := redisaddr.Dial(ctx, opts, redisCheckTimeout); err != nil {
			return nil, fmt.Errorf("REDIS_URL: cannot connect to Redis at %s: %w", opts.Addr, err)
		}
		// Let request contexts bound every Redis call.
		opts.ContextTimeoutEnabled = true
		a.redis = goredis.NewClient(opts)
		pctx, cancel := context.WithTimeout(ctx, redisCheckTimeout)
		err = a.redis.Ping(pctx).Err()
		cancel()
		if err != nil {
			a.redis.Close()
			return nil, fmt.Errorf("REDIS_URL: Redis at %s does not answer PING: %w", opts.Addr, err)
		}
		rs, err := wxredis.New(a.redis)
		if err != nil {
			a.redis.Close()
			return nil, err
		}
		grants, tokens, dedupe = rs, rs, rs
	} else {
		var opts []memory.Option
		if cfg.DedupeTTL > 0 && cfg.DedupeTTL < memory.DefaultCleanupInterval {
			// Expired records must go about as fast as they expire, or
			// the process holds a minute of them whatever the TTL.
			opts = append(opts, memory.WithCleanupInterval(cfg.DedupeTTL))
		}
		ms := memory.New(opts...)
		grants, tokens, dedupe = ms, ms, ms
	}
	a.Grants = grants

	mux := a.hooks(cfg.Async)
	var err error
	mcfg := middleware.Config{
		Token:          cfg.Token,
		EncodingAESKey: cfg.AESKey,
		AppID:          cfg.AppID,
		Mux:            mux,
		Grants:         grants,
		LongTerm:       middleware.TemplateSet(cfg.LongTerm...),
		Dedupe:         dedupe,
		ReplayWindow:   cfg.ReplayWindow,
		DedupeTTL:      cfg.DedupeTTL,
		Async:          cfg.Async,
		Logger:         log,
	}
	if cfg.NoReplayCheck {
		mcfg.ReplayWindow = middleware.NoReplayCheck
	}
	switch cfg.Mode {
	case "plaintext":
		mcfg.Mode = middleware.ModePlaintext
	case "compatible":
		mcfg.Mode = middleware.ModeCompatible
	case "safe":
		mcfg.Mode = middleware.ModeSafe
	}
	if a.Endpoint, err = middleware.New(mcfg); err != nil {
		a.Close(ctx)
		return nil, fmt.Errorf("callback route from the WECHAT_ variables: %w", err)
	}
	a.Sender, err = sender.New(cfg.AppID, cfg.Secret,
		sender.WithBaseURL(cfg.APIBase),
		sender.WithGrantStore(grants),
		sender.WithTokenStore(tokens),
		sender.WithStableToken(cfg.StableToken),
		sender.WithLogger(log),
	)
	if err != nil {
		a.Close(ctx)
		return nil, err
	}
	if a.Outbox, err = a.newOutbox(cfg, log); err != nil {
		a.Close(ctx)
		return nil, err
	}
	return a, nil
}

// hooks logs every event the app receives. Grants are recorded by the
// Endpoint itself before these run.
func (a *App) hooks(async bool) *handlers.Mux {
	mux := handlers.NewMux()
	mux.OnSubscribePopup(func(ctx context.Context, ev *handlers.SubscribePopupEvent) error {
		for _, it := range ev.Items {
			a.log.InfoContext(ctx, "subscription popup", "openid", ev.FromUserName, "template", it.TemplateID, "status", it.Status)
		}
		return nil
	})
	mux.OnSubscribeChange(func(ctx context.Context, ev *handlers.SubscribeChangeEvent) error {
		for _, it := range ev.Items {
			a.log.InfoContext(ctx, "subscription changed", "openid", ev.FromUserName, "template", it.TemplateID, "status", it.Status)
		}
		return nil
	})
	mux.OnSubscribeSent(func(ctx context.Context, ev *handlers.SubscribeSentEvent) error {
		for _, it := range ev.Items {
			a.log.InfoContext(ctx, "message sent", "openid", ev.FromUserName, "template", it.TemplateID,
				"msgid", it.MsgID, "delivered", it.Delivered(), "errcode", it.ErrorCode)
		}
		return nil
	})
	mux.OnText(func(ctx context.Context, msg *handlers.TextMessage) error {
		a.log.InfoContext(ctx, "customer-service text", "openid", msg.FromUserName)
		if !async {
			// An async route answers before hooks run, so it cannot
			// pass the message on in its reply.
			msg.TransferToCustomerService()
		}
		return nil
	})
	mux.OnUnknown(func(ctx context.Context, msg *handlers.UnknownMessage) error {
		a.log.InfoContext(ctx, "unhandled push", "msgtype", msg.MsgType, "event", msg.Event)
		return nil
	})
	return mux
}

// Close releases the Redis client, if any, after draining the Endpoint
// and the Outbox.
func (a *App) Close(ctx context.Context) {
	if a.Endpoint != nil {
		_ = a.Endpoint.Close(ctx)
	}
	if a.Outbox != nil {
		_ = a.Outbox.Close(ctx)
	}
	if a.redis != nil {
		_ = a.redis.Close()
	}
}

// Result is a JSON answer of the app's own routes.
type Result struct {
	Status int
	Body   any
}

// SendRequest is the body of POST /send.
type SendRequest struct {
	ToUser           string            `json:"touser"`
	TemplateID       string            `json:"template_id"`
	Page             string            `json:"page"`
	Data             map[string]string `json:"data"`
	MiniProgramState string            `json:"miniprogram_state"`
	Lang             string            `json:"lang"`
}

type errorBody struct {
	Error   string `json:"error"`
	Field   string `json:"field,omitempty"`
	ErrCode int    `json:"errcode,omitempty"`
}

// Send handles POST /send: 200 {"msgid"}, 409 without a grant, 422 for
// invalid data, 502 when WeChat refuses or cannot be reached.
func (a *App) Send(ctx context.Context, req SendRequest) Result {
	msgID, err := a.Sender.SendSubscribe(ctx, sender.SubscribeMessage{
		ToUser: req.ToUser, TemplateID: req.TemplateID, Page: req.Page, Data: req.Data,
		MiniProgramState: req.MiniProgramState, Lang: req.Lang,
	})
	if err == nil {
		return Result{http.StatusOK, map[string]string{"msgid": msgID}}
	}
	var (
		dataErr *sender.DataError
		apiErr  *sender.APIError
	)
	switch {
	case errors.Is(err, sender.ErrNoGrant):
		return Result{http.StatusConflict, errorBody{Error: "the user has no grant for this template"}}
	case errors.As(err, &dataErr):
		return Result{http.StatusUnprocessableEntity, errorBody{Error: err.Error(), Field: dataErr.Keyword}}
	case errors.Is(err, sender.ErrInvalidMessage):
		return Result{http.StatusBadRequest, errorBody{Error: err.Error()}}
	case errors.As(err, &apiErr):
		return Result{http.StatusBadGateway, errorBody{Error: err.Error(), ErrCode: apiErr.Code, Field: apiErr.DataKeyword()}}
	}
	a.log.WarnContext(ctx, "send failed", "err", err)
	return Result{http.StatusBadGateway, errorBody{Error: err.Error()}}
}

// Grant handles GET /grants?openid=&template_id=.
func (a *App) Grant(ctx context.Context, openID, templateID string) Result {
	if openID == "" || templateID == "" {
		return Result{http.StatusBadRequest, errorBody{Error: "openid and template_id are required"}}
	}
	g, err := a.Grants.Get(ctx, openID, templateID)
	if err != nil {
		a.log.WarnContext(ctx, "reading grant failed", "err", err)
		return Result{http.StatusServiceUnavailable, errorBody{Error: "grant store unavailable"}}
	}
	return Result{http.StatusOK, map[string]any{"remaining": g.Remaining, "long_term": g.LongTerm}}
}

// BadJSON is the answer to a /send body that is not the expected JSON.
func BadJSON(err error) Result {
	return Result{http.StatusBadRequest, errorBody{Error: "body must be JSON: " + err.Error()}}
}
