package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestDemoRunsTheWholeStory(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out); err != nil {
		t.Fatalf("demo failed: %v\n%s", err, out.String())
	}
	for _, want := range []string{
		`route answered 200 "1234567890"`,
		`"remaining":1`,
		`app answered 200 {"msgid":`,
		`app answered 409`,
		`app answered 422`,
		`route answered 403`,
		"Done: every step behaved as expected.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
