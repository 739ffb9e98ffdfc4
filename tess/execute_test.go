package tess

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/faketess"
)

func TestExecuteTerminalStatuses(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		errText string
		wantErr bool
	}{
		{"completed", "completed", "", false},
		{"succeeded", "succeeded", "", false},
		{"completed upper case", "COMPLETED", "", false},
		{"failed", "failed", "model overloaded", true},
		{"error", "error", "internal failure", true},
		{"canceled", "canceled", "", true},
		{"cancelled", "cancelled", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			srv.Queue(faketess.Script{Deltas: []string{"Hel", "lo"}, Status: tt.status, Error: tt.errText})
			c, _ := newFakeClient(t, srv, nil)
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
			if res == nil {
				t.Fatalf("result is nil, err = %v", err)
			}
			if res.Text != "Hello" {
				t.Errorf("text = %q, want %q", res.Text, "Hello")
			}
			if res.Status != tt.status {
				t.Errorf("status = %q, want %q", res.Status, tt.status)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var execErr *ExecutionError
			if !errors.As(err, &execErr) {
				t.Fatalf("err = %v, want *ExecutionError", err)
			}
			if execErr.Message != tt.errText || execErr.Status != tt.status {
				t.Errorf("error = %+v, want status %q message %q", execErr, tt.status, tt.errText)
			}
			if execErr.ExecutionID != res.ExecutionID || execErr.ExecutionID == 0 {
				t.Errorf("error execution id = %d, result id = %d", execErr.ExecutionID, res.ExecutionID)
			}
			if srv.Polls(res.ExecutionID) != 0 {
				t.Errorf("polled %d times after a terminal event", srv.Polls(res.ExecutionID))
			}
		})
	}
}

func TestExecuteStreamShapes(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 5<<10) // 80 KiB in one event
	deltas := []string{"Olá, ", "mundo ", "— ", "ok\nnext line", "."}
	full := strings.Join(deltas, "")
	tests := []struct {
		name   string
		script faketess.Script
		want   string
	}{
		{"deltas", faketess.Script{Deltas: deltas}, full},
		{"cumulative", faketess.Script{Deltas: deltas, Cumulative: true}, full},
		{"crlf", faketess.Script{Deltas: deltas, CRLF: true}, full},
		{"keep-alives", faketess.Script{Deltas: deltas, KeepAlive: true}, full},
		{"multi-line data", faketess.Script{Deltas: deltas, MultiLine: true}, full},
		{"done literal", faketess.Script{Deltas: deltas, Done: true}, full},
		{"string ids", faketess.Script{Deltas: deltas, StringIDs: true}, full},
		{"full output at the end", faketess.Script{Deltas: deltas, FinalOutput: true}, full},
		{"cumulative with full output", faketess.Script{Deltas: deltas, Cumulative: true, FinalOutput: true}, full},
		{"event over 64 KiB", faketess.Script{Deltas: []string{"a", big, "z"}}, "a" + big + "z"},
		{"all at once", faketess.Script{Deltas: []string{"a", "b", "c"}, CRLF: true, KeepAlive: true,
			MultiLine: true, Done: true, StringIDs: true, Cumulative: true}, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			srv.Queue(tt.script)
			c, _ := newFakeClient(t, srv, nil)
			var progress progressLog
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, progress.record)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != tt.want {
				t.Errorf("text = %.60q, want %.60q", res.Text, tt.want)
			}
			progress.checkGrowth(t, tt.want)
			if progress.last.ExecutionID != res.ExecutionID || progress.last.RootID != res.RootID {
				t.Errorf("progress ids = %d/%d, result ids = %d/%d", progress.last.ExecutionID,
					progress.last.RootID, res.ExecutionID, res.RootID)
			}
			if res.Credits == 0 {
				t.Error("credits = 0, want the terminal event's credits")
			}
		})
	}
}

func TestExecuteRequestBody(t *testing.T) {
	srv := faketess.New(t, faketess.WithWorkspaceID("42"))
	c, _ := newFakeClient(t, srv, func(cfg *Config) { cfg.UserAgent = "tessbot/1.2.3" })
	ctx := testContext(t)
	file, err := c.UploadFile(ctx, "notes.txt", strings.NewReader("notes"))
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	first, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "first"}, nil)
	if err != nil {
		t.Fatalf("first execute: %v", err)
	}
	_, err = c.Execute(ctx, ExecuteRequest{
		AgentID: "7", Message: "second", RootID: first.RootID, FileIDs: []int64{file.ID},
		Model: "tess-6", Tools: "no-tools", Temperature: "0.5",
	}, nil)
	if err != nil {
		t.Fatalf("second execute: %v", err)
	}

	recs := srv.Executes()
	if len(recs) != 2 {
		t.Fatalf("executes = %d, want 2", len(recs))
	}
	if _, ok := recs[0].Fields["root_id"]; ok {
		t.Error("first request sent root_id, want it left out")
	}
	if _, ok := recs[0].Fields["temperature"]; ok {
		t.Error("first request sent temperature, want it left out")
	}

	got := recs[1]
	checks := []struct{ name, got, want string }{
		{"messages", messagesText(got.Messages), "user:second"},
		{"model", got.Model, "tess-6"},
		{"tools", got.Tools, "no-tools"},
		{"temperature JSON", string(got.Fields["temperature"]), `"0.5"`},
		{"stream JSON", string(got.Fields["stream"]), "true"},
		{"authorization", got.Header.Get("Authorization"), "Bearer " + srv.APIKey},
		{"workspace", got.Header.Get("x-workspace-id"), "42"},
		{"user agent", got.Header.Get("User-Agent"), "tessbot/1.2.3"},
		{"content type", got.Header.Get("Content-Type"), "application/json"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if got.RootID != first.RootID || len(got.FileIDs) != 1 || got.FileIDs[0] != file.ID {
		t.Errorf("root_id = %d, file_ids = %v; want %d, [%d]", got.RootID, got.FileIDs, first.RootID, file.ID)
	}
}

func messagesText(msgs []faketess.Message) string {
	var parts []string
	for _, m := range msgs {
		parts = append(parts, m.Role+":"+m.Content)
	}
	return strings.Join(parts, "|")
}

func TestExecuteConversationRoot(t *testing.T) {
	srv := faketess.New(t)
	c, _ := newFakeClient(t, srv, nil)
	ctx := testContext(t)
	first, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "one"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.RootID != first.ExecutionID {
		t.Errorf("first root = %d, want its own id %d", first.RootID, first.ExecutionID)
	}
	second, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "two", RootID: first.RootID}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if second.RootID != first.RootID || second.ExecutionID == first.ExecutionID {
		t.Errorf("second = id %d root %d, want a new id with root %d", second.ExecutionID, second.RootID, first.RootID)
	}
	if second.Text != "two" {
		t.Errorf("echo text = %q, want %q", second.Text, "two")
	}
}

func TestExecuteHistory(t *testing.T) {
	srv := faketess.New(t)
	c, _ := newFakeClient(t, srv, nil)
	_, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Messages: []Message{
		{Role: "system", Content: "be brief"},
		{Role: "user", Content: "a"},
		{Role: "user", Content: "b"},
		{Role: "assistant", Content: ""},
		{Role: "assistant", Content: "c"},
		{Role: "system", Content: "d"},
	}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := messagesText(srv.Executes()[0].Messages)
	want := "developer:be brief|user:a\n\nb|assistant:c|user:d"
	if got != want {
		t.Errorf("messages = %q, want %q", got, want)
	}
}

func TestExecuteInvalidRequest(t *testing.T) {
	c := New(Config{BaseURL: "http://127.0.0.1:1", APIKey: "k"})
	tests := []struct {
		name string
		req  ExecuteRequest
	}{
		{"missing agent", ExecuteRequest{Message: "hi"}},
		{"empty message", ExecuteRequest{AgentID: "7", Message: "  "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.Execute(testContext(t), tt.req, nil); err == nil {
				t.Fatal("err = nil, want a validation error")
			}
		})
	}
}

func TestExecuteStreamCutPolls(t *testing.T) {
	deltas := []string{"one ", "two ", "three ", "four ", "five"}
	full := strings.Join(deltas, "")
	tests := []struct {
		name   string
		script faketess.Script
	}{
		{"dropped connection", faketess.Script{Cut: faketess.CutDrop, CutAfter: 2, PendingPolls: 2}},
		{"clean end", faketess.Script{Cut: faketess.CutEOF, CutAfter: 3, PendingPolls: 1}},
		{"cumulative dropped", faketess.Script{Cut: faketess.CutDrop, CutAfter: 2, Cumulative: true}},
		{"cut after last delta", faketess.Script{Cut: faketess.CutDrop, CutAfter: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			sc := tt.script
			sc.Deltas = deltas
			srv.Queue(sc)
			c, logs := newFakeClient(t, srv, nil)
			var progress progressLog
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "count"}, progress.record)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != full {
				t.Errorf("text = %q, want %q", res.Text, full)
			}
			if res.Status != "succeeded" {
				t.Errorf("status = %q, want the polled %q", res.Status, "succeeded")
			}
			progress.checkGrowth(t, full)
			if got, want := srv.Polls(res.ExecutionID), sc.PendingPolls+1; got != want {
				t.Errorf("polls = %d, want %d", got, want)
			}
			if n := len(srv.Executes()); n != 1 {
				t.Errorf("executes = %d, want 1: a broken stream must not run the agent again", n)
			}
			if !strings.Contains(logs.String(), "polling") {
				t.Error("no log line about polling after the stream broke")
			}
		})
	}
}

func TestExecuteCutBeforeFirstEventRetries(t *testing.T) {
	tests := []struct {
		name   string
		script faketess.Script
	}{
		{"http 524", faketess.Script{Cut: faketess.Cut524}},
		{"dropped before events", faketess.Script{Cut: faketess.CutDrop, CutAfter: 0}},
		{"empty stream", faketess.Script{Cut: faketess.CutEOF, CutAfter: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			sc := tt.script
			sc.Deltas = []string{"lost"}
			srv.Queue(sc, faketess.Script{Deltas: []string{"second ", "try"}})
			c, _ := newFakeClient(t, srv, nil)
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != "second try" {
				t.Errorf("text = %q, want the retried execution's", res.Text)
			}
			if n := len(srv.Executes()); n != 2 {
				t.Errorf("executes = %d, want 2", n)
			}
		})
	}
}

func TestExecuteRetries(t *testing.T) {
	tests := []struct {
		name  string
		fault faketess.Fault
	}{
		{"429 retry_after in body", faketess.Fault{Status: 429, RetryAfter: 1}},
		{"429 Retry-After header", faketess.Fault{Status: 429, RetryAfterHeader: "2"}},
		{"429 retry_after over the cap", faketess.Fault{Status: 429, RetryAfter: 3600}},
		{"429 without a wait", faketess.Fault{Status: 429}},
		{"500", faketess.Fault{Status: 500}},
		{"502 html", faketess.Fault{Status: 502, Body: "<html>bad gateway</html>"}},
		{"503 three times", faketess.Fault{Status: 503, Times: 3}},
		{"connection dropped", faketess.Fault{Drop: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t)
			f := tt.fault
			f.Path = "/agents/7/execute"
			srv.Inject(f)
			c, logs := newFakeClient(t, srv, nil)
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "retry me"}, nil)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != "retry me" {
				t.Errorf("text = %q, want %q", res.Text, "retry me")
			}
			if n := srv.PendingFaults(); n != 0 {
				t.Errorf("%d injected faults unused", n)
			}
			if !strings.Contains(logs.String(), "retrying") || !strings.Contains(logs.String(), "recovered") {
				t.Errorf("logs lack the retry and recovery lines:\n%s", logs)
			}
		})
	}
}

func TestExecuteRetriesBounded(t *testing.T) {
	srv := faketess.New(t)
	srv.Inject(faketess.Fault{Path: "/agents/", Status: 503, Times: 10})
	c, _ := newFakeClient(t, srv, func(cfg *Config) { cfg.MaxRetries = 2 })
	_, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 {
		t.Fatalf("err = %v, want *APIError 503", err)
	}
	if n := srv.CallCount("POST", "/agents/"); n != 3 {
		t.Errorf("calls = %d, want 1 + 2 retries", n)
	}
}

func TestExecuteNoRetry(t *testing.T) {
	tests := []struct {
		status   int
		body     string
		wantUser string
	}{
		{400, `{"error":"Validation failed","messages":{"temperature":["must be at most 2"]}}`, "temperature: must be at most 2"},
		{401, `{"message":"Unauthenticated."}`, "API key was rejected"},
		{403, `{"error":"Invalid authentication"}`, "API key was rejected"},
		{403, `{"error":"You do not have access to this workspace."}`, "workspace id"},
		{404, `{"error":"Not found"}`, "agent id"},
		{413, ``, "too large"},
		{422, `{"error":"The x-workspace-id header is required."}`, "workspace id"},
		{422, `{"error":"Unprocessable","messages":["tools is invalid"]}`, "tools is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.wantUser, func(t *testing.T) {
			srv := faketess.New(t)
			srv.Inject(faketess.Fault{Status: tt.status, Body: tt.body})
			c, _ := newFakeClient(t, srv, nil)
			_, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
			var apiErr *APIError
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if apiErr.StatusCode != tt.status {
				t.Errorf("status = %d, want %d", apiErr.StatusCode, tt.status)
			}
			if n := srv.CallCount("", ""); n != 1 {
				t.Errorf("calls = %d, want 1 (no retry)", n)
			}
			if msg := UserMessage(err); !strings.Contains(msg, tt.wantUser) {
				t.Errorf("user message = %q, want it to mention %q", msg, tt.wantUser)
			}
		})
	}
}

func TestExecutePollDeadline(t *testing.T) {
	srv := faketess.New(t)
	srv.Queue(faketess.Script{Deltas: []string{"partial ", "rest"}, Cut: faketess.CutEOF, CutAfter: 1,
		PendingPolls: 1 << 30})
	c, _ := newFakeClient(t, srv, func(cfg *Config) { cfg.PollDeadline = time.Second })
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("err = %v, want ErrTimeout", err)
	}
	if res == nil || res.Text != "partial " || res.ExecutionID == 0 {
		t.Fatalf("result = %+v, want the partial text and the execution id", res)
	}
	if srv.Polls(res.ExecutionID) == 0 {
		t.Error("never polled before the deadline")
	}
}

func TestExecuteCancel(t *testing.T) {
	srv := faketess.New(t)
	hold := make(chan struct{})
	srv.Queue(faketess.Script{Deltas: []string{"kept ", "never"}, HoldAfter: 1, Hold: hold})
	c, _ := newFakeClient(t, srv, nil)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()
	res, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "hi"}, func(Progress) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res == nil || res.Text != "kept " {
		t.Fatalf("result = %+v, want the text streamed before the cancel", res)
	}
}

func TestExecuteStreamIdle(t *testing.T) {
	srv := faketess.New(t)
	hold := make(chan struct{})
	defer close(hold)
	// On a loaded machine the first event may come after the idle timeout, and the call
	// is retried; each retry gets the same script, so the outcome does not change.
	script := faketess.Script{Deltas: []string{"a", "b"}, HoldAfter: 1, Hold: hold}
	srv.Queue(script, script, script, script)
	c, _ := newFakeClient(t, srv, func(cfg *Config) { cfg.StreamIdleTimeout = 500 * time.Millisecond })
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if res.Text != "ab" || srv.Polls(res.ExecutionID) == 0 {
		t.Errorf("text = %q after %d polls, want %q from polling", res.Text, srv.Polls(res.ExecutionID), "ab")
	}
}

func TestExecutePollErrors(t *testing.T) {
	srv := faketess.New(t)
	srv.Queue(faketess.Script{Deltas: []string{"x", "y"}, Cut: faketess.CutDrop, CutAfter: 1})
	srv.Inject(faketess.Fault{Path: "/agent-responses/", Status: 500, Times: 2})
	srv.Inject(faketess.Fault{Path: "/agent-responses/", Status: 429, RetryAfter: 1})
	c, logs := newFakeClient(t, srv, nil)
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	if err != nil {
		t.Fatalf("err = %v", err)
	}
	if res.Text != "xy" {
		t.Errorf("text = %q, want %q", res.Text, "xy")
	}
	if n := srv.PendingFaults(); n != 0 {
		t.Errorf("%d injected faults unused", n)
	}
	if got := strings.Count(logs.String(), "poll failed"); got != 1 {
		t.Errorf("logged %d poll failures, want the first one only", got)
	}
	if !strings.Contains(logs.String(), "polling recovered") {
		t.Error("no log line about polling recovering")
	}
}

func TestExecutePollNotFound(t *testing.T) {
	srv := faketess.New(t)
	srv.Queue(faketess.Script{Deltas: []string{"x", "y"}, Cut: faketess.CutEOF, CutAfter: 1})
	srv.Inject(faketess.Fault{Path: "/agent-responses/", Status: 404, Times: 100})
	c, _ := newFakeClient(t, srv, nil)
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("err = %v, want *APIError 404", err)
	}
	if res == nil || res.Text != "x" {
		t.Errorf("result = %+v, want the streamed text", res)
	}
	if n := srv.CallCount("GET", "/agent-responses/"); n != maxPollNotFound+1 {
		t.Errorf("polls = %d, want %d before giving up on a lasting 404", n, maxPollNotFound+1)
	}
}
