package sender

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/goccy/go-json"
	"github.com/wxsub/wxsub/store"
)

// API paths.
const (
	pathToken       = "/cgi-bin/token"
	pathStableToken = "/cgi-bin/stable_token"
)

type tokenAnswer struct {
	apiStatus
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

type stableTokenRequest struct {
	GrantType    string `json:"grant_type"`
	AppID        string `json:"appid"`
	Secret       string `json:"secret"`
	ForceRefresh bool   `json:"force_refresh"`
}

// errNoToken reports a success answer without a usable token.
var errNoToken = errors.New("wxsub/sender: token answer holds no access_token or expires_in")

// fetchToken gets a new token from WeChat: /cgi-bin/token, or
// /cgi-bin/stable_token in stable mode (with force_refresh when force).
//
// Docs: https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getAccessToken.html
// and https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/mp-access-token/getStableAccessToken.html
func (c *Client) fetchToken(ctx context.Context, force bool) (store.Token, error) {
	start := c.now()
	var out tokenAnswer
	var err error
	if c.stable {
		// A forced refresh is not repeated after it may have reached
		// WeChat: each one counts against the daily limit.
		err = c.postJSON(ctx, pathStableToken, false, !force, stableTokenRequest{
			GrantType: "client_credential", AppID: c.appID, Secret: c.secret, ForceRefresh: force,
		}, &out)
	} else {
		q := "grant_type=client_credential&appid=" + url.QueryEscape(c.appID) + "&secret=" + url.QueryEscape(c.secret)
		err = c.call(ctx, &apiRequest{method: http.MethodGet, path: pathToken, query: q, idempotent: true}, &out)
	}
	if err != nil {
		return store.Token{}, err
	}
	if out.AccessToken == "" || out.ExpiresIn <= 0 {
		return store.Token{}, errNoToken
	}
	return store.Token{AccessToken: out.AccessToken, ExpiresAt: start.Add(time.Duration(out.ExpiresIn) * time.Second)}, nil
}

// postJSON posts in, encoded as JSON, and decodes the answer into out.
func (c *Client) postJSON(ctx context.Context, path string, auth, idempotent bool, in any, out answer) error {
	b, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("wxsub/sender: %s: encoding the request: %w", path, err)
	}
	rb := getReqBuf()
	defer rb.release()
	rb.b = append(rb.b, b...)
	return c.call(ctx, &apiRequest{
		method: http.MethodPost, path: path, body: rb, contentType: "application/json",
		auth: auth, idempotent: idempotent,
	}, out)
}

// get calls path with an encoded query and decodes the answer into out.
func (c *Client) get(ctx context.Context, path, query string, out answer) error {
	return c.call(ctx, &apiRequest{method: http.MethodGet, path: path, query: query, auth: true, idempotent: true}, out)
}
