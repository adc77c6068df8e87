package sender_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/wxsub/wxsub/sender"
	"github.com/wxsub/wxsub/sender/sendertest"
	"github.com/wxsub/wxsub/store/memory"
)

// BenchmarkSendSubscribe measures SendSubscribe (token, validation, grant
// consume, encoding, HTTP, decoding) against sendertest on loopback with 64
// concurrent callers, and, as the baseline, a bare http.Client with the same
// transport settings posting the same JSON to the same endpoint.
func BenchmarkSendSubscribe(b *testing.B) {
	srv := sendertest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	m := message("o-bench", "T-bench")

	b.Run("wxsub", func(b *testing.B) {
		grants := memory.New()
		if _, err := grants.AddOneTime(ctx, m.ToUser, m.TemplateID, 1<<40, 0); err != nil {
			b.Fatal(err)
		}
		c, err := sender.New(srv.AppID, srv.Secret, sender.WithBaseURL(srv.URL), sender.WithGrantStore(grants))
		if err != nil {
			b.Fatal(err)
		}
		defer c.CloseIdleConnections()
		if _, err := c.SendSubscribe(ctx, m); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		b.SetParallelism(32)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := c.SendSubscribe(ctx, m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})

	b.Run("bare_http", func(b *testing.B) {
		hc := &http.Client{Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 128,
			MaxConnsPerHost:     256,
			IdleConnTimeout:     30 * time.Second,
		}, Timeout: 30 * time.Second}
		defer hc.CloseIdleConnections()
		token := bareToken(b, hc, srv)
		body := bareBody(b, m)
		u := srv.URL + "/cgi-bin/message/subscribe/send?access_token=" + token
		b.ReportAllocs()
		b.SetParallelism(32)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				resp, err := hc.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		})
	})
}

func bareToken(b *testing.B, hc *http.Client, srv *sendertest.Server) string {
	resp, err := hc.Get(srv.URL + "/cgi-bin/token?grant_type=client_credential&appid=" + srv.AppID + "&secret=" + srv.Secret)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		b.Fatalf("token: %v", err)
	}
	return tok.AccessToken
}

// bareBody encodes m as the send API expects, with encoding/json.
func bareBody(b *testing.B, m sender.SubscribeMessage) []byte {
	type value struct {
		Value string `json:"value"`
	}
	data := map[string]value{}
	for k, v := range m.Data {
		data[k] = value{v}
	}
	body, err := json.Marshal(struct {
		ToUser           string           `json:"touser"`
		TemplateID       string           `json:"template_id"`
		Page             string           `json:"page"`
		MiniProgramState string           `json:"miniprogram_state"`
		Lang             string           `json:"lang"`
		Data             map[string]value `json:"data"`
	}{m.ToUser, m.TemplateID, m.Page, m.MiniProgramState, m.Lang, data})
	if err != nil {
		b.Fatal(err)
	}
	return body
}
