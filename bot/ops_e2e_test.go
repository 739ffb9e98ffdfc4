package bot_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/fakeslack"
	"github.com/tessbot/tessbot/internal/faketess"
)

func TestMetricsCountReply(t *testing.T) {
	h := newHarness(t)
	m, _ := h.startWithMetrics()

	ts := h.slack.NewTS()
	text := "<@" + h.slack.BotUserID() + "> count me"
	env := h.slack.Mention(channelID, humanID, text, ts, "")
	h.send(env)
	h.send(h.slack.MessageEvent(fakeslack.Msg{Channel: channelID, User: humanID, Text: text, TS: ts}))
	h.waitReplyText(channelID, ts, 0, rendered("count me")[0])
	h.send(h.slack.Redelivery(env, 1))
	waitMetric(t, m, "tessbot_replies_completed_total", nil, 1)
	waitMetric(t, m, "tessbot_events_deduplicated_total", nil, 1)

	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"tessbot_events_received_total", map[string]string{"type": "app_mention"}, 2},
		{"tessbot_events_received_total", map[string]string{"type": "message"}, 1},
		{"tessbot_replies_started_total", nil, 1},
		{"tessbot_replies_failed_total", nil, 0},
		{"tessbot_replies_in_flight", nil, 0},
		{"tessbot_tess_first_delta_seconds", nil, 1},
		{"tessbot_slack_calls_total", map[string]string{"method": "chat.postMessage"}, 1},
		{"tessbot_slack_calls_total", map[string]string{"method": "auth.test"}, 1},
		{"tessbot_tess_credits_total", nil, 0.01},
	}
	for _, c := range checks {
		if got := metricValue(t, m, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
}

func TestMetricsCountSlack429(t *testing.T) {
	h := newHarness(t)
	m, _ := h.startWithMetrics()
	h.slack.FailNext("chat.update", 1, fakeslack.Fault{Status: http.StatusTooManyRequests, RetryAfter: time.Second})
	h.tess.Queue(faketess.Script{Deltas: []string{"one ", "two ", "three"}, Delay: 30 * time.Millisecond})

	root := h.mention("go", "")
	h.waitReplyText(channelID, root, 0, rendered("one two three")[0])
	waitMetric(t, m, "tessbot_replies_completed_total", nil, 1)

	if got := metricValue(t, m, "tessbot_slack_rate_limited_total", map[string]string{"method": "chat.update"}); got != 1 {
		t.Errorf("chat.update 429s = %v, want 1", got)
	}
}

func TestReplyFinishedLogLine(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.tess.Queue(faketess.Script{Deltas: []string{"a ", "b"}, Credits: 0.25})
	root := h.mention("log me", "")
	h.waitReplyText(channelID, root, 0, rendered("a b")[0])
	h.stopIfRunning()

	var line string
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, `msg="reply finished"`) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("no reply finished line in the log:\n%s", h.logs.String())
	}
	execs := h.tess.Executes()
	for _, want := range []string{
		"channel=" + channelID,
		"thread_ts=" + root,
		"ts=" + root,
		"agent_id=" + agentID,
		"root_id=" + itoa(execs[0].ExecutionID),
		"execution_id=" + itoa(execs[0].ExecutionID),
		"outcome=completed",
		"credits=0.25",
	} {
		if !strings.Contains(line, want) {
			t.Errorf("log line lacks %q: %s", want, line)
		}
	}
	for _, field := range []string{`first_delta=[0-9.]+[mµn]?s`, `duration=[0-9.]+[mµ]?s`, `edits=[0-9]+`} {
		if !regexp.MustCompile(field).MatchString(line) {
			t.Errorf("log line lacks %s: %s", field, line)
		}
	}
	if n := strings.Count(h.logs.String(), `msg="reply finished"`); n != 1 {
		t.Errorf("%d reply finished lines, want 1", n)
	}
}

func TestHealthzFollowsSocket(t *testing.T) {
	h := newHarness(t)
	_, base := h.startWithMetrics()
	// The fake sees the connection before the bot reads its "connected" event.
	waitHealthz(t, base, http.StatusOK)
	if status, body := httpGet(t, base+"/metrics"); status != http.StatusOK || !strings.Contains(body, "tessbot_replies_in_flight 0") {
		t.Errorf("metrics = %d, body without tessbot_replies_in_flight 0", status)
	}

	// The connection drops and every reconnection fails: /healthz turns unhealthy.
	h.slack.FailNext("apps.connections.open", 1000, fakeslack.Fault{Error: "internal_error"})
	for _, id := range h.slack.ConnectionIDs() {
		if err := h.slack.DropConnection(id); err != nil {
			t.Fatal(err)
		}
	}
	body := waitHealthz(t, base, http.StatusServiceUnavailable)
	if !strings.Contains(body, "socket mode is not connected") {
		t.Errorf("unhealthy body = %q", body)
	}
}

// waitHealthz polls /healthz until it returns status, and returns the body.
func waitHealthz(t *testing.T, base string, status int) string {
	t.Helper()
	deadline := time.After(waitTimeout)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		got, body := httpGet(t, base+"/healthz")
		if got == status {
			return body
		}
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("healthz = %d %q, want %d", got, body, status)
		}
	}
}

func TestStatusBeforeFirstToken(t *testing.T) {
	h := newHarness(t)
	h.start()
	root := h.mention("status please", "")
	h.waitReplyText(channelID, root, 0, rendered("status please")[0])

	h.slack.WaitFor(t, func(s *fakeslack.Server) bool {
		return len(s.Statuses(channelID, root)) == 2
	}, waitTimeout)
	statuses := h.slack.Statuses(channelID, root)
	if statuses[0].Status != "is thinking…" {
		t.Errorf("first status = %q, want is thinking…", statuses[0].Status)
	}
	if statuses[1].Status != "" {
		t.Errorf("second status = %q, want it cleared", statuses[1].Status)
	}
}

func TestStatusRejectedQuietly(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.slack.FailNext("assistant.threads.setStatus", 1, fakeslack.Fault{Error: "not_allowed_token_type"})
	root := h.mention("no status", "")
	h.waitReplyText(channelID, root, 0, rendered("no status")[0])
	h.stopIfRunning()

	if n := h.slack.Count("assistant.threads.setStatus").Calls; n != 1 {
		t.Errorf("setStatus calls = %d, want 1 and no clear", n)
	}
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, "assistant thread status") && !strings.Contains(l, "level=DEBUG") {
			t.Errorf("status error logged above debug: %s", l)
		}
	}
}

func httpGet(t *testing.T, url string) (int, string) {
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

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
