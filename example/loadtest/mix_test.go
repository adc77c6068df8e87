package loadtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/wxsub/wxsub/codec"
	"github.com/wxsub/wxsub/middleware/pushtest"
	"github.com/wxsub/wxsub/store"
)

// usersPerWorker is how many users each pusher owns. A user belongs to one
// pusher only, so its pushes arrive in order and the model stays exact.
const usersPerWorker = 6

// pushers returns one Pusher per wire variant WeChat uses: XML and JSON,
// each plaintext, safe and compatible.
func pushers(t testing.TB, appID string) []*pushtest.Pusher {
	t.Helper()
	var ps []*pushtest.Pusher
	for _, f := range []codec.Format{codec.XML, codec.JSON} {
		for _, cfg := range []pushtest.Config{
			{Token: token, Format: f},
			{Token: token, Format: f, EncodingAESKey: aesKey, AppID: appID},
			{Token: token, Format: f, EncodingAESKey: aesKey, AppID: appID, Compatible: true},
		} {
			p, err := pushtest.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ps = append(ps, p)
		}
	}
	return ps
}

// grant is the model of one grant record: what the store must hold.
type grant struct {
	remaining int64
	longTerm  bool
}

// worker generates one pusher's stream of mixed pushes and keeps the model
// of the grants they must leave behind.
type worker struct {
	users   []string
	rng     *rand.Rand
	seq     int64
	pushers []*pushtest.Pusher
	model   map[[2]string]*grant
	last    *codec.Message
	// counts of pushes answered 200, by kind ("dup" for duplicates).
	kinds map[string]int64
	// hookLines counts the lines the app's hooks must have logged for the
	// pushes answered 200, by message.
	hookLines map[string]int64
}

func newWorker(run string, id int, ps []*pushtest.Pusher) *worker {
	w := &worker{
		rng:     rand.New(rand.NewPCG(uint64(id), 0x5eed)),
		seq:     int64(id) * 1_000_000_000,
		pushers: ps,
		model:   map[[2]string]*grant{},
		kinds:   map[string]int64{},

		hookLines: map[string]int64{},
	}
	for i := range usersPerWorker {
		u := fmt.Sprintf("o_%s_w%d_u%d", run, id, i)
		w.users = append(w.users, u)
		for _, tmpl := range append(append([]string(nil), oneTime...), longTerm...) {
			w.model[[2]string{u, tmpl}] = &grant{}
		}
	}
	return w
}

// pusher picks the wire variant of the next attempt.
func (w *worker) pusher() *pushtest.Pusher { return w.pushers[w.rng.IntN(len(w.pushers))] }

// next returns the next push: 5% of the time a duplicate of the last push
// that was answered 200 (as WeChat's retries are), else a new one of a
// kind drawn from a mix of every event and message type.
func (w *worker) next() (m *codec.Message, kind string) {
	if w.last != nil && w.rng.IntN(100) < 5 {
		return w.last, "dup"
	}
	w.seq++
	user := w.users[w.rng.IntN(len(w.users))]
	ct := w.seq
	id := strconv.FormatInt(w.seq, 10)
	switch r := w.rng.IntN(100); {
	case r < 40:
		return w.popup(user, ct), "popup"
	case r < 50:
		return w.change(user, ct), "change"
	case r < 58:
		return pushtest.Sent(gh, user, ct, oneTime[w.rng.IntN(len(oneTime))], id, int64(w.rng.IntN(2))), "sent"
	case r < 68:
		return pushtest.Text(gh, user, ct, id, "hello <&> 你好"), "text"
	case r < 76:
		return pushtest.Image(gh, user, ct, id, "https://example.com/p.jpg", "media"+id), "image"
	case r < 84:
		return pushtest.MiniProgramPage(gh, user, ct, id, "card", "wxapp", "pages/index?id="+id), "page"
	case r < 92:
		return pushtest.EnterSession(gh, user, ct, "session"), "enter"
	default:
		return &codec.Message{ToUserName: gh, FromUserName: user, CreateTime: ct, MsgType: codec.MsgTypeEvent, Event: "loadtest_unknown_event"}, "unknown"
	}
}

func (w *worker) popup(user string, ct int64) *codec.Message {
	all := []string{"T1", "T2", "LT1"}
	w.rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	var items [][2]string
	for _, tmpl := range all[:1+w.rng.IntN(len(all))] {
		var status string
		switch r := w.rng.IntN(100); {
		case r < 60:
			status = codec.StatusAccept
		case r < 70:
			status = codec.StatusAcceptWithAudio
		case r < 90:
			status = codec.StatusReject
		case r < 95:
			status = codec.StatusBan
		default:
			status = codec.StatusFilter
		}
		items = append(items, [2]string{tmpl, status})
	}
	return pushtest.Popup(gh, user, ct, items...)
}

func (w *worker) change(user string, ct int64) *codec.Message {
	tmpl := []string{"T1", "T2", "LT1"}[w.rng.IntN(3)]
	status := codec.StatusReject
	if tmpl == "LT1" && w.rng.IntN(4) == 0 {
		status = codec.StatusAccept
	}
	return pushtest.Change(gh, user, ct, [2]string{tmpl, status})
}

// handled records that m was answered 200: the model takes its grant
// changes once (a duplicate changes nothing), by the rules of the
// middleware package documentation.
func (w *worker) handled(m *codec.Message, kind string) {
	w.kinds[kind]++
	if kind == "dup" {
		return
	}
	w.last = m
	// The example app's hooks log one line per item of a subscription
	// event, one per text message and one per unknown push; image, page
	// and session pushes have no hook.
	switch kind {
	case "popup":
		w.hookLines["subscription popup"] += int64(len(m.Items))
	case "change":
		w.hookLines["subscription changed"] += int64(len(m.Items))
	case "sent":
		w.hookLines["message sent"] += int64(len(m.Items))
	case "text":
		w.hookLines["customer-service text"]++
	case "unknown":
		w.hookLines["unhandled push"]++
	}
	for _, it := range m.Items {
		g := w.model[[2]string{m.FromUserName, it.TemplateID}]
		isLong := it.TemplateID == "LT1"
		accepted := it.Status == codec.StatusAccept || it.Status == codec.StatusAcceptWithAudio
		switch {
		case m.Event == codec.EventSubscribePopup && accepted && isLong,
			m.Event == codec.EventSubscribeChange && accepted && isLong:
			g.longTerm = true
		case m.Event == codec.EventSubscribePopup && accepted:
			g.remaining++
		case m.Event == codec.EventSubscribePopup && it.Status == codec.StatusReject && isLong,
			m.Event == codec.EventSubscribeChange && it.Status == codec.StatusReject:
			*g = grant{}
		}
	}
}

// reconcile checks every (user, template) record of the workers against
// their models, exactly, and returns the number of one-time grants held.
func reconcile(t *testing.T, grants store.GrantStore, workers []*worker) int64 {
	t.Helper()
	ctx := context.Background()
	var total int64
	mismatches := 0
	for _, w := range workers {
		for key, want := range w.model {
			got, err := grants.Get(ctx, key[0], key[1])
			if err != nil {
				t.Fatalf("Get(%s, %s): %v", key[0], key[1], err)
			}
			total += got.Remaining
			if got.Remaining != want.remaining || got.LongTerm != want.longTerm {
				mismatches++
				if mismatches <= 10 {
					t.Errorf("grant %s/%s: store has remaining=%d long-term=%v, pushes made remaining=%d long-term=%v",
						key[0], key[1], got.Remaining, got.LongTerm, want.remaining, want.longTerm)
				}
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d grant records differ from what was pushed", mismatches)
	}
	return total
}

// deleteUsers removes the workers' users from the store, so that a shared
// store keeps nothing of the run.
func deleteUsers(grants store.GrantStore, workers []*worker) {
	for _, w := range workers {
		for _, u := range w.users {
			_ = grants.DeleteUser(context.Background(), u)
		}
	}
}
