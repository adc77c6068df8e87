package redisaddr

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

func TestOptions(t *testing.T) {
	for _, tt := range []struct {
		in, addr string
		db       int
		password string
	}{
		{"127.0.0.1:6379", "127.0.0.1:6379", 0, ""},
		{" localhost:6380 ", "localhost:6380", 0, ""},
		{":6379", "127.0.0.1:6379", 0, ""},
		{"[::1]:6379", "[::1]:6379", 0, ""},
		{"redis://127.0.0.1:6379/2", "127.0.0.1:6379", 2, ""},
		{"redis://:pw@10.0.0.1:7000", "10.0.0.1:7000", 0, "pw"},
		{"rediss://cache.internal:6380/0", "cache.internal:6380", 0, ""},
	} {
		o, err := Options(tt.in)
		if err != nil || o.Addr != tt.addr || o.DB != tt.db || o.Password != tt.password {
			t.Errorf("Options(%q) = %+v, %v; want addr %s db %d password %q", tt.in, o, err, tt.addr, tt.db, tt.password)
		}
	}
	for _, in := range []string{"", "127.0.0.1", "127.0.0.1:", "http://127.0.0.1:6379", "redis://127.0.0.1:6379/x", "127.0.0.1:6379/0", "u@h:1"} {
		if o, err := Options(in); !errors.Is(err, ErrAddr) {
			t.Errorf("Options(%q) = %+v, %v; want ErrAddr", in, o, err)
		}
	}
}

func TestDial(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	o, err := Options(addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := Dial(context.Background(), o, time.Second); err != nil {
		t.Fatalf("Dial to a listener: %v", err)
	}
	ln.Close()
	if err := Dial(context.Background(), o, time.Second); err == nil {
		t.Fatalf("Dial to a closed port succeeded")
	}
}
