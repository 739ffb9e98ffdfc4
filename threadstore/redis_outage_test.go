package threadstore

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/tcpproxy"
	"github.com/tessbot/tessbot/internal/testredis"
)

func TestRedisOutageMidRun(t *testing.T) {
	testredis.Client(t)
	server, err := url.Parse(testredis.URL())
	if err != nil {
		t.Fatalf("parse test url: %v", err)
	}
	proxy := tcpproxy.Start(t, server.Host)
	viaProxy := *server
	viaProxy.Host = proxy.Addr()
	s := openTestRedis(t, viaProxy.String(), Options{}, testredis.Prefix(t))
	ctx := testContext(t)
	key := ThreadKey{"C01", "1.0"}

	if err := s.PutThread(ctx, key, Thread{RootID: 1}); err != nil {
		t.Fatalf("PutThread before the outage: %v", err)
	}

	proxy.Stop()
	shortCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err = s.PutThread(shortCtx, key, Thread{RootID: 2})
	if err == nil {
		t.Fatal("PutThread during the outage returned no error")
	}
	if errors.Is(err, ErrNotFound) {
		t.Errorf("PutThread during the outage error = %v, want a connection error", err)
	}
	if _, err := s.Thread(shortCtx, key); err == nil || errors.Is(err, ErrNotFound) {
		t.Errorf("Thread during the outage error = %v, want a connection error", err)
	}

	if err := proxy.Restart(); err != nil {
		t.Fatalf("restart proxy: %v", err)
	}
	// The caller retries the write, and the client reconnects by itself.
	eventually(t, "PutThread succeeds after the outage", func() bool {
		return s.PutThread(ctx, key, Thread{RootID: 2}) == nil
	})
	got, err := s.Thread(ctx, key)
	if err != nil {
		t.Fatalf("Thread after the outage: %v", err)
	}
	if got.RootID != 2 {
		t.Errorf("RootID after the outage = %d, want 2", got.RootID)
	}
}
