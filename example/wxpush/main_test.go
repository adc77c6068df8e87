package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/wxsub/wxsub/adapters/httpadapter"
	"github.com/wxsub/wxsub/middleware"
	"github.com/wxsub/wxsub/store/memory"
)

const aesKey = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func TestRunAgainstARoute(t *testing.T) {
	grants := memory.New()
	// Compatible mode, so that one route takes the plaintext and the
	// encrypted pushes of the table.
	e, err := middleware.New(middleware.Config{Token: "tok", EncodingAESKey: aesKey, AppID: "wxapp", Grants: grants,
		Mode: middleware.ModeCompatible})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpadapter.New(e))
	defer srv.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-event", "popup", "-template", "T1", "-openid", "u1"}, 0, "HTTP 200\nsuccess"},
		{[]string{"-event", "popup", "-template", "T1", "-openid", "u2", "-format", "json"}, 0, "HTTP 200\nsuccess"},
		{[]string{"-event", "popup", "-template", "T1", "-openid", "u3", "-aes-key", aesKey, "-appid", "wxapp"}, 0, "HTTP 200\nsuccess"},
		{[]string{"-event", "text", "-aes-key", aesKey, "-appid", "wxapp", "-compatible"}, 0, "HTTP 200\nsuccess"},
		{[]string{"-event", "sent", "-msgid", "123", "-format", "json"}, 0, "HTTP 200"},
		{[]string{"-event", "change", "-status", "reject", "-template", "T2"}, 0, "HTTP 200"},
		{[]string{"-event", "image"}, 0, "HTTP 200"},
		{[]string{"-event", "page"}, 0, "HTTP 200"},
		{[]string{"-event", "enter"}, 0, "HTTP 200"},
		{[]string{"-event", "popup", "-token", "wrong"}, 1, "HTTP 403"},
		{[]string{"-event", "popup", "-aes-key", aesKey, "-appid", "wxother"}, 1, "HTTP 400"},
		{[]string{"-event", "nope"}, 2, "-event must be popup, change"},
		{[]string{"-format", "yaml"}, 2, "-format"},
		{[]string{"-aes-key", "short", "-appid", "wxapp"}, 2, "-aes-key must be the 43-character EncodingAESKey"},
	} {
		args := append([]string{"-url", srv.URL, "-token", "tok", "-openid", "o1"}, tc.args...)
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\nstdout: %s\nstderr: %s", tc.args, code, tc.code, tc.want, out.String(), errOut.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"-url", srv.URL, "-token", "tok", "-event", "check"}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "HTTP 200\nwxpush-") {
		t.Errorf("-event check: exit %d\nstdout: %s\nstderr: %s", code, out.String(), errOut.String())
	}
	// Each of u1, u2, u3 accepted T1 once (XML, JSON, encrypted).
	for _, u := range []string{"u1", "u2", "u3"} {
		g, err := grants.Get(context.Background(), u, "T1")
		if err != nil || g.Remaining != 1 {
			t.Fatalf("%s's grant after an accepted popup: %+v %v", u, g, err)
		}
	}
}

// Nonsense is refused with exit 2 before anything is sent, by a message
// that names the flag and what to give it, never an internal name.
func TestRunRefusesNonsense(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-event", "popup"}, "-token is required: the Token of the admin console"},
		{[]string{"-token", "tok", "-compatible"}, "-compatible needs -aes-key"},
		{[]string{"-token", "tok", "-aes-key", aesKey}, "-aes-key needs -appid"},
		{[]string{"-token", "tok", "-appid", "wxapp"}, "-appid needs -aes-key"},
		{[]string{"-token", "tok", "-aes-key", "short", "-appid", "wxapp"}, "-aes-key must be the 43-character EncodingAESKey"},
		{[]string{"-token", "tok", "-aes-key", strings.Repeat("!", 43), "-appid", "wxapp"}, "-aes-key must be the EncodingAESKey"},
		{[]string{"-token", "tok", "-status", "maybe"}, "-status must be one of accept, reject, acceptWithAudio, ban, filter for -event popup"},
		{[]string{"-token", "tok", "-event", "change", "-status", "ban"}, "-status must be one of accept, reject for -event change"},
		{[]string{"-token", "tok", "-event", "text", "-status", "reject"}, "-status does nothing with -event text"},
		{[]string{"-token", "tok", "-event", "check", "-openid", "o1"}, "-openid does nothing with -event check"},
		{[]string{"-token", "tok", "-event", "popup", "-errcode", "1"}, "-errcode does nothing with -event popup"},
		{[]string{"-token", "tok", "-event", "message"}, "-event must be popup, change, sent, text, image, page, enter or check"},
		{[]string{"-token", "tok", "-url", "127.0.0.1:8080/wechat/callback"}, "-url must be the callback route's http:// or https:// URL"},
		{[]string{"-token", "tok", "-timeout", "0s"}, "-timeout must be a positive duration"},
		{[]string{"-token", "tok", "popup"}, `unexpected argument "popup"`},
	} {
		args := tc.args
		if !slices.Contains(args, "-url") {
			args = append([]string{"-url", "http://127.0.0.1:1/never-called"}, args...)
		}
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		got := errOut.String()
		if code != 2 || !strings.Contains(got, tc.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q, nothing sent", tc.args, code, got, tc.want)
		}
		for _, internal := range []string{"pushtest", "codec", "Config.", "NewCipher"} {
			if strings.Contains(got, internal) {
				t.Errorf("%v: stderr %q names the internal %q", tc.args, got, internal)
			}
		}
	}
}

// -appid alone is the page's appid with -event page; -h is not an error.
func TestRunAcceptsPageAppIDAndHelp(t *testing.T) {
	srv := httptest.NewServer(httpadapter.New(mustEndpoint(t)))
	defer srv.Close()
	var out, errOut bytes.Buffer
	if code := run([]string{"-url", srv.URL, "-token", "tok", "-event", "page", "-appid", "wxpage"}, &out, &errOut); code != 0 {
		t.Errorf("-event page -appid: exit %d, stderr %s", code, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	if code := run([]string{"-h"}, &out, &errOut); code != 0 || !strings.Contains(errOut.String(), "-aes-key") {
		t.Errorf("-h: exit %d, stderr %s", code, errOut.String())
	}
}

func mustEndpoint(t *testing.T) *middleware.Endpoint {
	t.Helper()
	e, err := middleware.New(middleware.Config{Token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}
