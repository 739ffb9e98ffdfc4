package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"
)

func TestSlackMethod(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"/api/chat.update", "chat.update"},
		{"/api/apps.connections.open", "apps.connections.open"},
		{"/proxy/api/assistant.threads.setStatus", "assistant.threads.setStatus"},
		{"/files-pri/T0-F1/report.pdf", "download"},
		{"/api/", "other"},
		{"/api/chat.update/../x", "other"},
		{"/api/" + string(make([]byte, 65)), "other"},
	}
	for _, tt := range tests {
		if got := slackMethod(tt.path); got != tt.want {
			t.Errorf("slackMethod(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestSlackTransportCountsCallsAnd429(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/chat.update" {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1.2"}`))
	}))
	defer srv.Close()

	m := New()
	api := slack.New("xoxb-test",
		slack.OptionAPIURL(srv.URL+"/api/"),
		slack.OptionHTTPClient(&http.Client{Transport: m.SlackTransport(nil)}))
	ctx := context.Background()
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatalf("chat.postMessage: %v", err)
	}
	_, _, _, err := api.UpdateMessageContext(ctx, "C1", "1.2", slack.MsgOptionText("hi", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) {
		t.Fatalf("chat.update error = %v, want a RateLimitedError", err)
	}

	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"calls chat.postMessage", testutil.ToFloat64(m.slackCalls.WithLabelValues("chat.postMessage")), 1},
		{"calls chat.update", testutil.ToFloat64(m.slackCalls.WithLabelValues("chat.update")), 1},
		{"429 chat.update", testutil.ToFloat64(m.slackRateLimited.WithLabelValues("chat.update")), 1},
		{"429 chat.postMessage", testutil.ToFloat64(m.slackRateLimited.WithLabelValues("chat.postMessage")), 0},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestSlackTransportCountsFailedConnection(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()

	m := New()
	client := &http.Client{Transport: m.SlackTransport(nil)}
	if _, err := client.Post(url+"/api/auth.test", "application/json", nil); err == nil {
		t.Fatal("post to a closed server succeeded")
	}
	if got := testutil.ToFloat64(m.slackCalls.WithLabelValues("auth.test")); got != 1 {
		t.Errorf("calls auth.test = %v, want 1", got)
	}
}
