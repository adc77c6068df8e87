package app

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/outbox"
)

// ScheduleRequest is the body of POST /schedule: a /send body plus the
// job's idempotency key and when it is due.
type ScheduleRequest struct {
	SendRequest
	// Key is required: scheduling the same key again returns its job.
	Key string `json:"key"`
	// At is an RFC 3339 time; empty means now.
	At string `json:"at"`
}

// jobBody is how the schedule routes show a job.
type jobBody struct {
	Key     string `json:"key"`
	Status  string `json:"status"`
	At      string `json:"at,omitempty"`
	MsgID   string `json:"msgid,omitempty"`
	ErrCode int    `json:"errcode,omitempty"`
}

func showJob(j outbox.Job) jobBody {
	b := jobBody{Key: j.Key, Status: string(j.Status), MsgID: j.MsgID, ErrCode: j.ErrCode}
	if !j.Due.IsZero() {
		b.At = j.Due.Format(time.RFC3339)
	}
	return b
}

// Schedule handles POST /schedule: 201 with the new job, 200 with the job
// the key already names (nothing more is reserved), 409 without a grant,
// 422 for invalid data, 400 for a malformed request.
func (a *App) Schedule(ctx context.Context, req ScheduleRequest) Result {
	if req.Key == "" {
		return Result{http.StatusBadRequest, errorBody{Error: "key is required"}}
	}
	var opts []outbox.ScheduleOption
	if req.At != "" {
		at, err := time.Parse(time.RFC3339, req.At)
		if err != nil {
			return Result{http.StatusBadRequest, errorBody{Error: "at must be an RFC 3339 time: " + err.Error(), Field: "at"}}
		}
		opts = append(opts, outbox.At(at))
	}
	j, created, err := a.Outbox.Schedule(ctx, req.Key, sender.SubscribeMessage{
		ToUser: req.ToUser, TemplateID: req.TemplateID, Page: req.Page, Data: req.Data,
		MiniProgramState: req.MiniProgramState, Lang: req.Lang,
	}, opts...)
	var dataErr *sender.DataError
	switch {
	case err == nil && created:
		return Result{http.StatusCreated, showJob(j)}
	case err == nil:
		return Result{http.StatusOK, showJob(j)}
	case errors.Is(err, sender.ErrNoGrant):
		return Result{http.StatusConflict, errorBody{Error: "the user has no grant for this template"}}
	case errors.As(err, &dataErr):
		return Result{http.StatusUnprocessableEntity, errorBody{Error: err.Error(), Field: dataErr.Keyword}}
	case errors.Is(err, sender.ErrInvalidMessage), errors.Is(err, outbox.ErrInvalidJob):
		return Result{http.StatusBadRequest, errorBody{Error: err.Error()}}
	case errors.Is(err, outbox.ErrKeyUsed):
		return Result{http.StatusConflict, errorBody{Error: err.Error()}}
	}
	a.log.WarnContext(ctx, "scheduling failed", "key", req.Key, "error", err)
	return Result{http.StatusServiceUnavailable, errorBody{Error: "scheduling failed: " + err.Error()}}
}

// ScheduleStatus handles GET /schedule/{key}: 200 with the job, 404.
func (a *App) ScheduleStatus(ctx context.Context, key string) Result {
	j, err := a.Outbox.Status(ctx, key)
	switch {
	case err == nil:
		return Result{http.StatusOK, showJob(j)}
	case errors.Is(err, outbox.ErrNotFound):
		return Result{http.StatusNotFound, errorBody{Error: "no scheduled send with this key"}}
	}
	a.log.WarnContext(ctx, "reading a scheduled send failed", "key", key, "error", err)
	return Result{http.StatusServiceUnavailable, errorBody{Error: err.Error()}}
}

// ScheduleCancel handles DELETE /schedule/{key}: 200 when cancelled (the
// grant is refunded), 404, 409 when it is being sent or has ended.
func (a *App) ScheduleCancel(ctx context.Context, key string) Result {
	j, err := a.Outbox.Cancel(ctx, key)
	switch {
	case err == nil:
		return Result{http.StatusOK, jobBody{Key: j.Key, Status: string(j.Status)}}
	case errors.Is(err, outbox.ErrNotFound):
		return Result{http.StatusNotFound, errorBody{Error: "no scheduled send with this key"}}
	case errors.Is(err, outbox.ErrNotCancellable):
		return Result{http.StatusConflict, errorBody{Error: "the message is being sent or was sent (status " + string(j.Status) + ")"}}
	}
	a.log.WarnContext(ctx, "cancelling a scheduled send failed", "key", key, "error", err)
	return Result{http.StatusServiceUnavailable, errorBody{Error: err.Error()}}
}
