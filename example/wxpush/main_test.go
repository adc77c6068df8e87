package main

import (
	"bytes"
	"context"
	"net/http/httptest"
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
		{[]string{"-event", "check"}, 0, "HTTP 200\nwxpush-"},
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
		{[]string{"-event", "nope"}, 2, "unknown -event"},
		{[]string{"-format", "yaml"}, 2, "-format"},
		{[]string{"-aes-key", "short", "-appid", "wxapp"}, 2, "-aes-key"},
	} {
		args := append([]string{"-url", srv.URL, "-token", "tok", "-openid", "o1"}, tc.args...)
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, want %d with %q\nstdout: %s\nstderr: %s", tc.args, code, tc.code, tc.want, out.String(), errOut.String())
		}
	}
	// Each of u1, u2, u3 accepted T1 once (XML, JSON, encrypted).
	for _, u := range []string{"u1", "u2", "u3"} {
		g, err := grants.Get(context.Background(), u, "T1")
		if err != nil || g.Remaining != 1 {
			t.Fatalf("%s's grant after an accepted popup: %+v %v", u, g, err)
		}
	}
}

func TestRunNeedsToken(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-event", "popup"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "Token") {
		t.Fatalf("exit %d, stderr %s", code, errOut.String())
	}
}
