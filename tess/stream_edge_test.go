package tess

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// newStreamServer serves POST /agents/7/execute with stream, which writes the response
// body, and GET /agent-responses/{id} with the polls in turn, repeating the last one.
func newStreamServer(t *testing.T, stream func(w http.ResponseWriter, r *http.Request),
	polls ...string) (*httptest.Server, *atomic.Int32) {
	var polled atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/agents/7/execute":
			w.Header().Set("Content-Type", "text/event-stream")
			stream(w, r)
		case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/agent-responses/"):
			n := int(polled.Add(1)) - 1
			if len(polls) == 0 {
				http.Error(w, `{"error":"Not found"}`, http.StatusNotFound)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, polls[min(n, len(polls)-1)])
		default:
			http.Error(w, `{"error":"Not found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &polled
}

// writeEvents returns a stream handler that writes events as data lines.
func writeEvents(events ...string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) {
		for _, e := range events {
			fmt.Fprintf(w, "data: %s\n\n", e)
		}
	}
}

func TestExecuteStreamByteByByte(t *testing.T) {
	body := ": hello\r\n" +
		"data: {\"id\":9,\"status\":\"running\",\r\n" +
		"data: \"output\":\"héllo \"}\r\n\r\n" +
		"data: {\"id\":9,\"status\":\"running\",\"output\":\"wörld\"}\r\r" +
		"data: {\"id\":9,\"status\":\"COMPLETED\",\"output\":\"\",\"credits\":2}\n\n"
	srv, polled := newStreamServer(t, func(w http.ResponseWriter, _ *http.Request) {
		flusher := w.(http.Flusher)
		for i := range len(body) {
			_, _ = w.Write([]byte{body[i]})
			flusher.Flush()
		}
	})
	c := New(fastConfig(srv.URL, "key", &logBuffer{}))
	var progress progressLog
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, progress.record)
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if res.Text != "héllo wörld" {
		t.Errorf("text = %q, want %q", res.Text, "héllo wörld")
	}
	if res.Credits != 2 || res.Status != "COMPLETED" {
		t.Errorf("result = %+v, want credits 2 and status COMPLETED", res)
	}
	progress.checkGrowth(t, "héllo wörld")
	if n := polled.Load(); n != 0 {
		t.Errorf("polled %d times after a complete stream", n)
	}
}

func TestExecuteEventOverOneMiB(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", (3<<20)/16)
	srv, _ := newStreamServer(t, writeEvents(
		`{"id":9,"status":"running","output":"`+big+`"}`,
		`{"id":9,"status":"running","output":"!"}`,
		`{"id":9,"status":"completed","output":""}`))
	c := New(fastConfig(srv.URL, "key", &logBuffer{}))
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if res.Text != big+"!" {
		t.Errorf("text has %d bytes, want %d", len(res.Text), len(big)+1)
	}
}

// TestExecuteKeepAlivesOnly covers a stream that sends comment lines and nothing else: the
// idle timeout must still end it, because keep-alives carry no progress.
func TestExecuteKeepAlivesOnly(t *testing.T) {
	tests := []struct {
		name  string
		first string // event before the keep-alives; "" for none
		polls []string
		want  string // "" when Execute must fail
	}{
		{"after the first event", `{"id":9,"status":"running","output":"partial "}`,
			[]string{`{"id":9,"status":"succeeded","output":"partial answer"}`}, "partial answer"},
		{"from the start", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, polled := newStreamServer(t, func(w http.ResponseWriter, r *http.Request) {
				flusher := w.(http.Flusher)
				fmt.Fprintf(w, "data: %s\n\n", tt.first)
				flusher.Flush()
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-r.Context().Done():
						return
					case <-tick.C:
						_, _ = fmt.Fprint(w, ": keep-alive\n\n")
						flusher.Flush()
					}
				}
			}, tt.polls...)
			cfg := fastConfig(srv.URL, "key", &logBuffer{})
			cfg.StreamIdleTimeout = 200 * time.Millisecond
			c := New(cfg)
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
			if tt.want == "" {
				if !errors.Is(err, errStreamIdle) {
					t.Fatalf("err = %v, want the idle timeout", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != tt.want {
				t.Errorf("text = %q, want %q", res.Text, tt.want)
			}
			if polled.Load() == 0 {
				t.Error("never polled after the idle timeout")
			}
		})
	}
}

func TestExecuteStreamShapesEdge(t *testing.T) {
	tests := []struct {
		name   string
		events []string
		polls  []string
		want   string
		wantID int64
	}{
		{"cumulative then deltas", []string{
			`{"id":9,"status":"running","output":"Hel"}`,
			`{"id":9,"status":"running","output":"Hello"}`,
			`{"id":9,"status":"running","output":" world"}`,
			`{"id":9,"status":"completed","output":""}`,
		}, nil, "Hello world", 9},
		{"upper-case terminal status", []string{
			`{"id":9,"status":"RUNNING","output":"a"}`,
			`{"id":9,"status":"Succeeded","output":"b"}`,
		}, nil, "ab", 9},
		{"id only in a later event", []string{
			`{"status":"starting","output":""}`,
			`{"status":"running","output":"one "}`,
			`{"id":9,"status":"running","output":"two"}`,
		}, []string{`{"id":9,"status":"succeeded","output":"one two three"}`}, "one two three", 9},
		{"terminal without output reads the poll", []string{
			`{"id":9,"status":"running","output":""}`,
			`{"id":9,"status":"completed","output":"","credits":1}`,
		}, []string{`{"id":9,"status":"succeeded","output":"from the poll"}`}, "from the poll", 9},
		{"final event repeats the whole text", []string{
			`{"id":9,"status":"running","output":"ab"}`,
			`{"id":9,"status":"running","output":"cd"}`,
			`{"id":9,"status":"completed","output":"abcd"}`,
		}, nil, "abcd", 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newStreamServer(t, writeEvents(tt.events...), tt.polls...)
			c := New(fastConfig(srv.URL, "key", &logBuffer{}))
			var progress progressLog
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, progress.record)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != tt.want {
				t.Errorf("text = %q, want %q", res.Text, tt.want)
			}
			if res.ExecutionID != tt.wantID {
				t.Errorf("execution id = %d, want %d", res.ExecutionID, tt.wantID)
			}
			if progress.last.Text != tt.want {
				t.Errorf("last progress = %q, want %q", progress.last.Text, tt.want)
			}
		})
	}
}

// TestExecuteAmbiguousDeltas covers delta streams whose second delta starts with the text
// so far, which reads as cumulative output. The polled execution is authoritative.
func TestExecuteAmbiguousDeltas(t *testing.T) {
	tests := []struct {
		name   string
		deltas []string
		want   string
	}{
		{"repeated delta", []string{"ha", "ha", "!"}, "haha!"},
		{"code fence", []string{"`", "``go\nx\n", "```"}, "```go\nx\n```"},
		{"shrinking cumulative", []string{"Hello world", "Hello"}, "Hello world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var events []string
			for _, d := range tt.deltas {
				events = append(events, fmt.Sprintf(`{"id":9,"status":"running","output":%q}`, d))
			}
			events = append(events, `{"id":9,"status":"completed","output":""}`)
			srv, polled := newStreamServer(t, writeEvents(events...),
				fmt.Sprintf(`{"id":9,"status":"succeeded","output":%q}`, tt.want))
			c := New(fastConfig(srv.URL, "key", &logBuffer{}))
			var progress progressLog
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, progress.record)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != tt.want {
				t.Errorf("text = %q, want %q", res.Text, tt.want)
			}
			if progress.last.Text != tt.want {
				t.Errorf("last progress = %q, want %q", progress.last.Text, tt.want)
			}
			if n := polled.Load(); n != 1 {
				t.Errorf("polls = %d, want 1 to confirm the text", n)
			}
		})
	}
}

func TestExecuteUnambiguousDeltasNotPolled(t *testing.T) {
	srv, polled := newStreamServer(t, writeEvents(
		`{"id":9,"status":"running","output":"Hello"}`,
		`{"id":9,"status":"running","output":" world"}`,
		`{"id":9,"status":"completed","output":"Hello world"}`))
	c := New(fastConfig(srv.URL, "key", &logBuffer{}))
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if res.Text != "Hello world" {
		t.Errorf("text = %q, want %q", res.Text, "Hello world")
	}
	if n := polled.Load(); n != 0 {
		t.Errorf("polls = %d, want none for an unambiguous stream", n)
	}
}

func TestPollEdges(t *testing.T) {
	tests := []struct {
		name  string
		polls []string
		want  string
	}{
		{"running text grows", []string{
			`{"id":9,"status":"running","output":"a"}`,
			`{"id":9,"status":"running","output":"ab"}`,
			`{"id":9,"status":"running","output":"abc"}`,
			`{"id":9,"status":"succeeded","output":"abcd"}`,
		}, "abcd"},
		{"status in capitals", []string{
			`{"id":9,"status":"RUNNING","output":"a"}`,
			`{"id":9,"status":"SUCCEEDED","output":"ab"}`,
		}, "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newStreamServer(t, writeEvents(`{"id":9,"status":"running","output":"a"}`), tt.polls...)
			c := New(fastConfig(srv.URL, "key", &logBuffer{}))
			var progress progressLog
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, progress.record)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != tt.want {
				t.Errorf("text = %q, want %q", res.Text, tt.want)
			}
			progress.checkGrowth(t, tt.want)
		})
	}
}

// TestPollNotFoundThenFound covers an execution that GET /agent-responses/{id} does not
// know yet right after its stream broke.
func TestPollNotFoundThenFound(t *testing.T) {
	var polls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprint(w, "data: {\"id\":9,\"status\":\"running\",\"output\":\"x\"}\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if polls.Add(1) <= 2 {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"Agent response not found"}`)
			return
		}
		fmt.Fprint(w, `{"id":9,"status":"succeeded","output":"xy"}`)
	}))
	t.Cleanup(srv.Close)
	c := New(fastConfig(srv.URL, "key", &logBuffer{}))
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if res.Text != "xy" {
		t.Errorf("text = %q, want %q", res.Text, "xy")
	}
}

func TestPollDeadlineKeepsPolledText(t *testing.T) {
	srv, polled := newStreamServer(t, writeEvents(`{"id":9,"status":"running","output":"a"}`),
		`{"id":9,"status":"running","output":"ab"}`)
	cfg := fastConfig(srv.URL, "key", &logBuffer{})
	cfg.PollDeadline = 300 * time.Millisecond
	c := New(cfg)
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if polled.Load() > 0 && (res == nil || res.Text != "ab") {
		t.Errorf("result = %+v, want the polled partial text", res)
	}
	if res == nil || res.ExecutionID != 9 || !strings.HasPrefix(res.Text, "a") {
		t.Errorf("result = %+v, want execution 9 with its partial text", res)
	}
	if UserMessage(err) == "" || errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a timeout a user can read", err)
	}
}
