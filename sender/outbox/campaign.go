package outbox

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/wxsub/wxsub/sender"
)

// Recipient is one user of a campaign, with the data of their message.
type Recipient struct {
	// OpenID is the user's openid.
	OpenID string
	// Data maps each template keyword to this user's value.
	Data map[string]string
	// Page overrides the campaign's Page when set.
	Page string
}

// CampaignSpec describes a campaign: one template sent to many users.
type CampaignSpec struct {
	// ID names the campaign. With a recipient's openid it makes the job
	// key, so a campaign run again after a crash schedules nobody twice.
	ID string
	// TemplateID is the template every recipient gets.
	TemplateID string
	// Page, MiniProgramState and Lang are as in sender.SubscribeMessage.
	Page             string
	MiniProgramState string
	Lang             string
	// At is when the messages are due (zero: now).
	At time.Time
	// Deadline is when retries stop (zero: the Outbox's default after At).
	Deadline time.Time
	// PollEvery is how often the campaign's counts are read while it
	// runs (default one second).
	PollEvery time.Duration
}

// Progress is where a campaign stands.
type Progress struct {
	// Campaign is the campaign's ID.
	Campaign string
	// Read is how many recipients were read from the iterator.
	Read int64
	// Scheduled is how many jobs this run created; Existing how many it
	// found already scheduled or ended by an earlier run.
	Scheduled int64
	Existing  int64
	// Counts are the final outcomes so far, across the fleet: no grant
	// and invalid as recipients are read, the others as jobs end.
	Counts map[Outcome]int64
	// Done reports that every recipient read has an outcome.
	Done bool
}

// Ended returns the number of recipients with an outcome.
func (p Progress) Ended() int64 {
	var n int64
	for _, c := range p.Counts {
		n += c
	}
	return n
}

// CampaignKey returns the job key of one recipient of a campaign.
func CampaignKey(campaignID, openID string) string { return "campaign:" + campaignID + ":" + openID }

// RunCampaign schedules spec's template for every recipient, as Campaign
// jobs, then waits until each has an outcome, calling progress (if not
// nil) after every thousand recipients read and at every poll. Recipients
// without a grant are counted as no grant without a WeChat call, and ones
// whose data the template refuses as invalid. A recipient already
// scheduled (by an earlier run of the same campaign, on any instance) is
// not scheduled again; a recipient read twice is counted once. An
// iterator error stops reading; the jobs already scheduled still run, and
// RunCampaign waits for them before returning the error.
//
// It returns when every recipient read has an outcome, or when ctx ends
// (the jobs then go on without it; RunCampaign again, or
// CampaignProgress, follows them). Counts come from the Tally, shared by
// the fleet, so they include what instances other than this one sent.
func (o *Outbox) RunCampaign(ctx context.Context, spec CampaignSpec, recipients iter.Seq2[Recipient, error], progress func(Progress)) (Progress, error) {
	if spec.ID == "" || spec.TemplateID == "" {
		return Progress{}, fmt.Errorf("%w: a campaign needs an ID and a TemplateID", ErrInvalidJob)
	}
	if spec.PollEvery <= 0 {
		spec.PollEvery = time.Second
	}
	p := Progress{Campaign: spec.ID}
	seen := map[string]struct{}{}
	var readErr error
	for r, err := range recipients {
		if err != nil {
			readErr = fmt.Errorf("wxsub/outbox: campaign %q: reading recipients: %w", spec.ID, err)
			break
		}
		if _, dup := seen[r.OpenID]; dup {
			continue
		}
		seen[r.OpenID] = struct{}{}
		p.Read++
		if err := o.scheduleRecipient(ctx, spec, r, &p); err != nil {
			return p, err
		}
		if progress != nil && p.Read%1000 == 0 {
			if err := o.count(ctx, &p); err != nil {
				return p, err
			}
			progress(p)
		}
	}
	for {
		if err := o.count(ctx, &p); err != nil {
			return p, err
		}
		p.Done = p.Ended() >= p.Read
		if progress != nil {
			progress(p)
		}
		if p.Done {
			return p, readErr
		}
		t := time.NewTimer(spec.PollEvery)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return p, ctx.Err()
		}
	}
}

// scheduleRecipient schedules one recipient's job, or counts why not.
func (o *Outbox) scheduleRecipient(ctx context.Context, spec CampaignSpec, r Recipient, p *Progress) error {
	page := spec.Page
	if r.Page != "" {
		page = r.Page
	}
	m := sender.SubscribeMessage{
		ToUser: r.OpenID, TemplateID: spec.TemplateID, Page: page, Data: r.Data,
		MiniProgramState: spec.MiniProgramState, Lang: spec.Lang,
	}
	key := CampaignKey(spec.ID, r.OpenID)
	opts := []ScheduleOption{InCampaign(spec.ID)}
	if !spec.At.IsZero() {
		opts = append(opts, At(spec.At))
	}
	if !spec.Deadline.IsZero() {
		opts = append(opts, Until(spec.Deadline))
	}
	_, created, err := o.Schedule(ctx, key, m, opts...)
	var outcome Outcome
	switch {
	case err == nil && created:
		p.Scheduled++
		return nil
	case err == nil, errors.Is(err, ErrKeyUsed):
		p.Existing++
		return nil
	case errors.Is(err, sender.ErrNoGrant):
		outcome = OutcomeNoGrant
	case errors.Is(err, sender.ErrInvalidMessage), errors.Is(err, sender.ErrInvalidData):
		outcome = OutcomeInvalid
	default:
		return fmt.Errorf("wxsub/outbox: campaign %q: scheduling %s: %w", spec.ID, r.OpenID, err)
	}
	if _, err := o.tally.Record(ctx, spec.ID, key, outcome); err != nil {
		return fmt.Errorf("wxsub/outbox: campaign %q: counting %s: %w", spec.ID, r.OpenID, err)
	}
	return nil
}

// count reads the campaign's counts from the Tally into p.
func (o *Outbox) count(ctx context.Context, p *Progress) error {
	c, err := o.tally.Counts(ctx, p.Campaign)
	if err != nil {
		return fmt.Errorf("wxsub/outbox: campaign %q: reading counts: %w", p.Campaign, err)
	}
	p.Counts = c
	return nil
}

// CampaignProgress returns the counts of a campaign's outcomes so far,
// across the fleet.
func (o *Outbox) CampaignProgress(ctx context.Context, id string) (map[Outcome]int64, error) {
	return o.tally.Counts(ctx, id)
}
