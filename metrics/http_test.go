package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestHealthz(t *testing.T) {
	tests := []struct {
		name       string
		health     func() error
		wantStatus int
		wantBody   string
	}{
		{"no check", nil, http.StatusOK, "ok\n"},
		{"healthy", func() error { return nil }, http.StatusOK, "ok\n"},
		{"socket down", func() error { return errors.New("socket mode not connected") },
			http.StatusServiceUnavailable, "unhealthy: socket mode not connected\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(New().Handler(tt.health))
			defer srv.Close()
			status, body := get(t, srv.URL+"/healthz")
			if status != tt.wantStatus {
				t.Errorf("status = %d, want %d", status, tt.wantStatus)
			}
			if body != tt.wantBody {
				t.Errorf("body = %q, want %q", body, tt.wantBody)
			}
		})
	}
}

func TestHealthzFollowsCheck(t *testing.T) {
	var down atomic.Bool
	srv := httptest.NewServer(New().Handler(func() error {
		if down.Load() {
			return errors.New("store not answering")
		}
		return nil
	}))
	defer srv.Close()

	if status, _ := get(t, srv.URL+"/healthz"); status != http.StatusOK {
		t.Fatalf("healthy status = %d, want 200", status)
	}
	down.Store(true)
	if status, _ := get(t, srv.URL+"/healthz"); status != http.StatusServiceUnavailable {
		t.Fatalf("unhealthy status = %d, want 503", status)
	}
	down.Store(false)
	if status, _ := get(t, srv.URL+"/healthz"); status != http.StatusOK {
		t.Fatalf("recovered status = %d, want 200", status)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	m := New()
	m.EventReceived("app_mention")
	m.ReplyStarted()
	m.SlackCall("chat.update", true)
	srv := httptest.NewServer(m.Handler(nil))
	defer srv.Close()

	want := `
# HELP tessbot_events_received_total Slack events received over Socket Mode, by type (app_mention, message, interactive, other).
# TYPE tessbot_events_received_total counter
tessbot_events_received_total{type="app_mention"} 1
# HELP tessbot_replies_in_flight Replies started and not yet finished.
# TYPE tessbot_replies_in_flight gauge
tessbot_replies_in_flight 1
# HELP tessbot_slack_rate_limited_total Slack Web API calls answered with HTTP 429, by method.
# TYPE tessbot_slack_rate_limited_total counter
tessbot_slack_rate_limited_total{method="chat.update"} 1
`
	err := testutil.ScrapeAndCompare(srv.URL+"/metrics", strings.NewReader(want),
		"tessbot_events_received_total", "tessbot_replies_in_flight", "tessbot_slack_rate_limited_total")
	if err != nil {
		t.Error(err)
	}

	_, body := get(t, srv.URL+"/metrics")
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "promhttp_metric_handler_requests_total"} {
		if !strings.Contains(body, name) {
			t.Errorf("/metrics lacks %s", name)
		}
	}
}

func TestUnknownPathNotFound(t *testing.T) {
	srv := httptest.NewServer(New().Handler(nil))
	defer srv.Close()
	if status, _ := get(t, srv.URL+"/debug/pprof/"); status != http.StatusNotFound {
		t.Errorf("status = %d, want 404", status)
	}
}

func TestServeListenerStopsOnContext(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ServeListener(ctx, ln, New().Handler(nil), nil) }()

	url := "http://" + ln.Addr().String() + "/healthz"
	if status, _ := get(t, url); status != http.StatusOK {
		t.Fatalf("status = %d, want 200", status)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ServeListener returned %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeListener did not return after cancel")
	}
	if _, err := http.Get(url); err == nil {
		t.Error("server still answers after cancel")
	}
}

func TestServeRejectsBusyAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	err = Serve(context.Background(), ln.Addr().String(), New().Handler(nil), nil)
	if err == nil {
		t.Fatal("Serve on a busy address returned nil")
	}
	if !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Errorf("error %q does not name the address", err)
	}
}
