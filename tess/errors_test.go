package tess

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tessbot/tessbot/internal/faketess"
)

func TestAPIErrorFromBody(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		header       http.Header
		body         string
		wantMessage  string
		wantMessages string
		wantRetry    time.Duration
	}{
		{"validation map of lists", 400, nil,
			`{"error":"Validation failed","messages":{"temperature":["must be a string","too high"],"model":["unknown"]}}`,
			"Validation failed", "model: unknown; temperature: must be a string; temperature: too high", 0},
		{"validation map of strings", 422, nil, `{"error":"Invalid","messages":{"root_id":"not found"}}`,
			"Invalid", "root_id: not found", 0},
		{"validation list", 400, nil, `{"error":"Invalid","messages":["a","b"]}`, "Invalid", "a; b", 0},
		{"laravel errors", 422, nil, `{"message":"The given data was invalid.","errors":{"file":["required"]}}`,
			"The given data was invalid.", "file: required", 0},
		{"error object", 500, nil, `{"error":{"message":"db down","code":1}}`, "db down", "", 0},
		{"retry_after number", 429, nil, `{"error":"Rate limit exceeded","retry_after":60}`,
			"Rate limit exceeded", "", time.Minute},
		{"retry_after string", 429, nil, `{"error":"Rate limit exceeded","retry_after":"1.5"}`,
			"Rate limit exceeded", "", 1500 * time.Millisecond},
		{"body wins over header", 429, http.Header{"Retry-After": {"9"}}, `{"retry_after":2}`, "", "", 2 * time.Second},
		{"Retry-After seconds", 429, http.Header{"Retry-After": {"7"}}, `{"error":"slow down"}`,
			"slow down", "", 7 * time.Second},
		{"html body", 524, http.Header{"Content-Type": {"text/html"}}, `<html>timeout</html>`, "", "", 0},
		{"plain text body", 502, http.Header{"Content-Type": {"text/plain"}}, "upstream failed\n",
			"upstream failed", "", 0},
		{"empty body", 503, nil, ``, "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := New(Config{APIKey: "test-key-123"})
			req := httptest.NewRequest("POST", "/agents/7/execute", nil)
			rec := httptest.NewRecorder()
			for k, v := range tt.header {
				rec.Header()[k] = v
			}
			rec.WriteHeader(tt.status)
			rec.WriteString(tt.body)
			e := c.readAPIError(req, rec.Result())
			if e.StatusCode != tt.status || e.Method != "POST" || e.Path != "/agents/7/execute" {
				t.Errorf("error = %d %s %s", e.StatusCode, e.Method, e.Path)
			}
			if e.Message != tt.wantMessage {
				t.Errorf("message = %q, want %q", e.Message, tt.wantMessage)
			}
			if got := e.validation(); got != tt.wantMessages {
				t.Errorf("messages = %q, want %q", got, tt.wantMessages)
			}
			if e.RetryAfter != tt.wantRetry {
				t.Errorf("retry after = %s, want %s", e.RetryAfter, tt.wantRetry)
			}
		})
	}
}

func TestParseRetryAfterDate(t *testing.T) {
	now := time.Date(2025, 1, 5, 22, 0, 0, 0, time.UTC)
	if got := parseRetryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now); got != 30*time.Second {
		t.Errorf("date 30s ahead = %s, want 30s", got)
	}
	if got := parseRetryAfter(now.Add(-time.Minute).Format(http.TimeFormat), now); got != 0 {
		t.Errorf("past date = %s, want 0", got)
	}
	if got := parseRetryAfter("soon", now); got != 0 {
		t.Errorf("garbage = %s, want 0", got)
	}
}

func TestUserMessage(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"bad key 401", &APIError{StatusCode: 401}, "API key was rejected"},
		{"bad key 403", &APIError{StatusCode: 403, Message: "Invalid authentication"}, "API key was rejected"},
		{"workspace 403", &APIError{StatusCode: 403, Message: "You do not have access to this workspace."}, "workspace id"},
		{"workspace 404", &APIError{StatusCode: 404, Message: "Workspace not found"}, "workspace id"},
		{"not found", &APIError{StatusCode: 404}, "agent id"},
		{"too large", &APIError{StatusCode: 413}, "too large"},
		{"invalid", &APIError{StatusCode: 400, Message: "Validation failed", Messages: map[string][]string{"model": {"unknown model."}}},
			"model: unknown model."},
		{"rate limited", &APIError{StatusCode: 429}, "too many requests"},
		{"server", &APIError{StatusCode: 502}, "HTTP 502"},
		{"teapot", &APIError{StatusCode: 418}, "HTTP 418"},
		{"wrapped api error", fmt.Errorf("context: %w", &APIError{StatusCode: 401}), "API key was rejected"},
		{"execution failed", &ExecutionError{Status: "failed", Message: "model overloaded."}, "model overloaded."},
		{"execution failed silently", &ExecutionError{Status: "error"}, "could not finish"},
		{"execution canceled", &ExecutionError{Status: "cancelled", Message: "x"}, "canceled"},
		{"timeout", fmt.Errorf("x: %w", ErrTimeout), "took too long"},
		{"deadline", context.DeadlineExceeded, "took too long"},
		{"canceled", context.Canceled, "stopped"},
		{"file too large", ErrFileTooLarge, "too large"},
		{"file failed", ErrFileFailed, "could not read the file"},
		{"other", errors.New("dial tcp: refused"), "could not reach Tess"},
		{"nil", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UserMessage(tt.err)
			if !strings.Contains(got, tt.want) {
				t.Errorf("UserMessage = %q, want it to contain %q", got, tt.want)
			}
			if got != "" && (!strings.HasSuffix(got, ".") || strings.ToUpper(got[:1]) != got[:1]) {
				t.Errorf("UserMessage = %q, want a sentence", got)
			}
		})
	}
}

func TestAPIErrorString(t *testing.T) {
	e := &APIError{Method: "GET", Path: "/agents/7", StatusCode: 429, Message: "Rate limit exceeded",
		Messages: map[string][]string{"": {"slow"}}, RetryAfter: time.Second}
	want := "tess: GET /agents/7: HTTP 429: Rate limit exceeded (slow), retry after 1s"
	if e.Error() != want {
		t.Errorf("Error() = %q, want %q", e.Error(), want)
	}
}

// TestKeyNeverLeaks runs every error path against a server that echoes the Bearer token
// in its error texts and checks that neither errors, user messages nor logs contain it.
func TestKeyNeverLeaks(t *testing.T) {
	const key = "tess-secret-key-5f2c9a"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		switch {
		case strings.HasSuffix(r.URL.Path, "/execute"):
			w.Header().Set("Content-Type", "text/event-stream")
			fmt.Fprintf(w, "data: {\"id\":9,\"status\":\"failed\",\"output\":\"\",\"error\":\"bad key %s\"}\n\n", k)
		case strings.HasPrefix(r.URL.Path, "/agents/"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":"key %s rejected","messages":{"key":["%s is invalid"]}}`, k, k)
		default:
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(403)
			fmt.Fprintf(w, "token %s expired", k)
		}
	}))
	t.Cleanup(srv.Close)
	logs := &logBuffer{}
	c := New(fastConfig(srv.URL, key, logs))
	ctx := testContext(t)
	var errs []error
	_, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	errs = append(errs, err)
	_, err = c.Agent(ctx, "7")
	errs = append(errs, err)
	_, err = c.CheckAgent(ctx, "7")
	errs = append(errs, err)
	_, err = c.UploadFile(ctx, "a.txt", strings.NewReader("a"))
	errs = append(errs, err)
	errs = append(errs, c.DeleteFile(ctx, 1))
	_, err = c.Wait(ctx, 5, nil)
	errs = append(errs, err)
	dead := New(fastConfig("http://127.0.0.1:1", key, logs))
	_, err = dead.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	errs = append(errs, err)

	for i, err := range errs {
		if err == nil {
			t.Errorf("call %d: err = nil, want an error", i)
			continue
		}
		if strings.Contains(err.Error(), key) || strings.Contains(UserMessage(err), key) {
			t.Errorf("call %d: error contains the key: %v", i, err)
		}
	}
	if strings.Contains(logs.String(), key) {
		t.Errorf("logs contain the key:\n%s", logs)
	}
	if !strings.Contains(errs[1].Error(), "[redacted]") {
		t.Errorf("err = %v, want the echoed key redacted", errs[1])
	}
}

func TestLimiterCoversEveryCall(t *testing.T) {
	srv := faketess.New(t)
	srv.Queue(faketess.Script{Deltas: []string{"a", "b"}, Cut: faketess.CutDrop, CutAfter: 1, PendingPolls: 2})
	srv.Inject(faketess.Fault{Path: "/agent-responses/", Status: 500})
	srv.QueueFileStatuses("processing", "completed")
	const burst = 100
	limiter := newHourlyLimiter(burst)
	c, _ := newFakeClient(t, srv, func(cfg *Config) { cfg.Limiter = limiter })
	ctx := testContext(t)
	if _, err := c.CheckAgent(ctx, "7"); err != nil {
		t.Fatal(err)
	}
	f, err := c.UploadFile(ctx, "a.txt", strings.NewReader("a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Execute(ctx, ExecuteRequest{AgentID: "7", Message: "hi"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteFile(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	used := burst - int(limiter.Tokens()+0.5)
	if calls := len(srv.Calls()); used != calls {
		t.Errorf("limiter tokens used = %d, server calls = %d", used, calls)
	}
}

func TestDefaultUserAgent(t *testing.T) {
	srv := faketess.New(t)
	c := New(Config{BaseURL: srv.URL + "/", APIKey: srv.APIKey})
	if _, err := c.Agent(testContext(t), "7"); err != nil {
		t.Fatal(err)
	}
	ua := srv.Calls()[0].Header.Get("User-Agent")
	if !strings.HasPrefix(ua, "tessbot/") {
		t.Errorf("User-Agent = %q, want tessbot/<version>", ua)
	}
}

func FuzzReadAPIError(f *testing.F) {
	const key = "fuzz-key-0123456789"
	f.Add(429, `{"error":"Rate limit exceeded","retry_after":60}`, "5", "application/json")
	f.Add(400, `{"messages":{"a":["x","fuzz-key-0123456789"]},"errors":[1]}`, "", "application/json")
	f.Add(502, "fuzz-key-0123456789 upstream", "Wed, 21 Oct 2015 07:28:00 GMT", "text/plain")
	f.Fuzz(func(t *testing.T, status int, body, retryAfter, contentType string) {
		c := New(Config{APIKey: key})
		rec := httptest.NewRecorder()
		rec.Header().Set("Retry-After", retryAfter)
		rec.Header().Set("Content-Type", contentType)
		rec.WriteHeader(500)
		rec.WriteString(body)
		resp := rec.Result()
		resp.StatusCode = status
		e := c.readAPIError(httptest.NewRequest("GET", "/agents/7", nil), resp)
		if e.RetryAfter < 0 || e.RetryAfter > 24*time.Hour {
			t.Fatalf("retry after = %s", e.RetryAfter)
		}
		if strings.Contains(e.Error(), key) || strings.Contains(e.UserMessage(), key) {
			t.Fatalf("error contains the key: %v", e)
		}
	})
}
