package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/goccy/go-json"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/middleware/pushtest"
	"github.com/wxsub/wxsub/sender/sendertest"
)

// scheduled plays the send-later part: a reminder scheduled a few seconds
// ahead goes out on time on the grant reserved when it was scheduled, and
// a cancelled one gives its grant back.
func (d *demo) scheduled(ctx context.Context, wx *pushtest.Pusher, wechat *sendertest.Server) error {
	d.say("The user accepts the reminder template twice more (two popups).")
	for i := range 2 {
		popup := pushtest.Popup(ghID, openID, time.Now().Unix()+int64(10+i), [2]string{template, codec.StatusAccept})
		resp, err := wx.Post(ctx, d.client, d.base+"/wechat/callback", popup)
		if err != nil {
			return err
		}
		if resp.Status != http.StatusOK {
			return fmt.Errorf("popup push: %d %s", resp.Status, resp.Body)
		}
	}
	if err := d.expectGrant(ctx, 2); err != nil {
		return err
	}

	due := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	reminder := map[string]any{
		"key": "appointment-7-reminder", "at": due.Format(time.RFC3339),
		"touser": openID, "template_id": template,
		"data": map[string]string{"thing1": "Dentist at 10:00", "time3": "2026-12-03 10:00"},
	}
	d.say("The backend schedules a reminder for %s: POST /schedule. The grant is reserved now.", due.Format(time.TimeOnly))
	status, body, err := d.postJSON(ctx, "/schedule", reminder)
	if err != nil {
		return err
	}
	d.show("app answered %d %s", status, body)
	if status != http.StatusCreated {
		return fmt.Errorf("schedule: status %d, want 201", status)
	}
	if err := d.expectGrant(ctx, 1); err != nil {
		return err
	}

	d.say("The request is retried (or reaches another instance): the same key returns the job and reserves nothing more.")
	status, body, err = d.postJSON(ctx, "/schedule", reminder)
	if err != nil {
		return err
	}
	d.show("app answered %d %s", status, body)
	if status != http.StatusOK {
		return fmt.Errorf("schedule again: status %d, want 200", status)
	}

	d.say("A second reminder is scheduled for tomorrow, then cancelled: DELETE /schedule/{key} refunds its grant.")
	cancelled := map[string]any{
		"key": "appointment-8-reminder", "at": time.Now().Add(24 * time.Hour).Format(time.RFC3339),
		"touser": openID, "template_id": template, "data": map[string]string{"thing1": "Check-up next week"},
	}
	if status, body, err = d.postJSON(ctx, "/schedule", cancelled); err != nil || status != http.StatusCreated {
		return fmt.Errorf("schedule: %d %s %v", status, body, err)
	}
	if err := d.expectGrant(ctx, 0); err != nil {
		return err
	}
	status, body, err = d.del(ctx, "/schedule/appointment-8-reminder")
	if err != nil {
		return err
	}
	d.show("DELETE answered %d %s", status, body)
	if status != http.StatusOK {
		return fmt.Errorf("cancel: status %d, want 200", status)
	}
	if err := d.expectGrant(ctx, 1); err != nil {
		return err
	}

	d.say("Waiting for the first reminder to fall due...")
	sends := len(wechat.Sends())
	var job struct {
		Status string
		MsgID  string `json:"msgid"`
	}
	deadline := due.Add(15 * time.Second)
	for {
		status, body, err = d.get(ctx, "/schedule/appointment-7-reminder")
		if err != nil {
			return err
		}
		if status != http.StatusOK || json.Unmarshal(body, &job) != nil {
			return fmt.Errorf("schedule status: %d %s", status, body)
		}
		if job.Status == "delivered" || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	sentAt := time.Now()
	d.show("GET /schedule/appointment-7-reminder -> %d %s", status, body)
	if job.Status != "delivered" || job.MsgID == "" {
		return errors.New("the reminder was not delivered")
	}
	if sentAt.Before(due) {
		return fmt.Errorf("the reminder went out at %s, before it was due at %s", sentAt.Format(time.TimeOnly), due.Format(time.TimeOnly))
	}
	d.show("delivered %s after its due time; the fake WeChat now has %d sends (was %d)",
		sentAt.Sub(due).Round(time.Millisecond), len(wechat.Sends()), sends)
	if len(wechat.Sends()) != sends+1 {
		return errors.New("the reminder did not reach the fake WeChat exactly once")
	}
	// The reminder spent the grant it reserved; the cancelled one's stays.
	return d.expectGrant(ctx, 1)
}

func (d *demo) del(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, d.base+path, nil)
	if err != nil {
		return 0, nil, err
	}
	return d.do(req)
}
