package sendertest

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/goccy/go-json"
)

type tokenState struct {
	tokens         map[string]*issued
	stableCurrent  string
	tokenFetches   int
	stableFetches  int
	forceRefreshes int
	nextToken      int
}

// issued is one access token the server handed out.
type issued struct {
	expires time.Time
	// dead is the errcode the token now gets: 0 while it works, 42001
	// after ExpireTokens, 40001 after InvalidateToken or a force refresh.
	dead int
}

// TokenFetches returns how many tokens the token endpoints handed out,
// /cgi-bin/token and /cgi-bin/stable_token together (a stable_token call
// that returns the current token counts too).
func (s *Server) TokenFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenFetches + s.stableFetches
}

// ForceRefreshes returns how many stable_token calls had force_refresh.
func (s *Server) ForceRefreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forceRefreshes
}

// ExpireTokens makes every token issued so far expire: API calls with one
// get 42001, and stable_token hands out a new one.
func (s *Server) ExpireTokens() { s.killTokens(42001) }

// InvalidateToken makes every token issued so far invalid, as when another
// party fetched a new one: API calls with one get 40001, and stable_token
// hands out a new one.
func (s *Server) InvalidateToken() { s.killTokens(40001) }

func (s *Server) killTokens(code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		if t.dead == 0 {
			t.dead = code
		}
	}
}

// checkToken returns the errcode an API call with token gets (0 if none).
func (s *Server) checkToken(token string) (int, string) {
	if token == "" {
		return 41001, ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[token]
	switch {
	case !ok:
		return 40001, ""
	case t.dead != 0:
		return t.dead, ""
	case !time.Now().Before(t.expires):
		return 42001, ""
	}
	return 0, ""
}

// issue makes a new token; s.mu is held.
func (s *Server) issue() string {
	s.nextToken++
	var b [12]byte
	_, _ = rand.Read(b[:])
	tok := "sendertest-" + strconv.Itoa(s.nextToken) + "-" + hex.EncodeToString(b[:])
	s.tokens[tok] = &issued{expires: time.Now().Add(s.ttl)}
	return tok
}

type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
}

// checkCredentials returns the errcode for a token request.
func (s *Server) checkCredentials(grantType, appID, secret string) int {
	switch {
	case grantType != "client_credential":
		return 40002
	case appID != s.AppID:
		return 40013
	case secret != s.Secret:
		return 40125
	}
	return 0
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if code := s.checkCredentials(q.Get("grant_type"), q.Get("appid"), q.Get("secret")); code != 0 {
		writeError(w, code, "")
		return
	}
	s.mu.Lock()
	tok := s.issue()
	s.tokenFetches++
	s.mu.Unlock()
	writeJSON(w, tokenAnswer{tok, int64(s.ttl / time.Second)})
}

func (s *Server) handleStableToken(w http.ResponseWriter, r *http.Request) {
	var in struct {
		GrantType    string `json:"grant_type"`
		AppID        string `json:"appid"`
		Secret       string `json:"secret"`
		ForceRefresh bool   `json:"force_refresh"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil || json.Unmarshal(body, &in) != nil {
		writeError(w, 47001, "")
		return
	}
	if code := s.checkCredentials(in.GrantType, in.AppID, in.Secret); code != 0 {
		writeError(w, code, "")
		return
	}
	s.mu.Lock()
	cur, ok := s.tokens[s.stableCurrent]
	now := time.Now()
	switch {
	case in.ForceRefresh:
		s.forceRefreshes++
		if ok && cur.dead == 0 {
			cur.dead = 40001
		}
		s.stableCurrent = s.issue()
	case !ok || cur.dead != 0 || !now.Before(cur.expires):
		s.stableCurrent = s.issue()
	}
	s.stableFetches++
	tok := s.stableCurrent
	left := s.tokens[tok].expires.Sub(now)
	s.mu.Unlock()
	writeJSON(w, tokenAnswer{tok, int64(left / time.Second)})
}
