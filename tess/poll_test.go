package tess

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// response is one scripted HTTP response.
type response struct {
	status      int
	contentType string
	body        string
}

// scriptedServer responds to each path with its responses in turn, repeating the last one.
type scriptedServer struct {
	mu        sync.Mutex
	responses map[string][]response
	counts    map[string]int
}

func newScriptedServer(t *testing.T, responses map[string][]response) (*httptest.Server, *scriptedServer) {
	s := &scriptedServer{responses: responses, counts: map[string]int{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, s
}

func (s *scriptedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	key := r.Method + " " + r.URL.Path
	s.mu.Lock()
	list := s.responses[key]
	n := s.counts[key]
	s.counts[key]++
	s.mu.Unlock()
	if len(list) == 0 {
		http.Error(w, `{"error":"Not found"}`, http.StatusNotFound)
		return
	}
	a := list[min(n, len(list)-1)]
	if a.contentType == "" {
		a.contentType = "application/json"
	}
	w.Header().Set("Content-Type", a.contentType)
	if a.status == 0 {
		a.status = http.StatusOK
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
}

func (s *scriptedServer) count(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[key]
}

func jsonResponse(body string) response { return response{body: body} }

func sseResponse(events ...string) response {
	var b strings.Builder
	for _, e := range events {
		b.WriteString("data: " + e + "\n\n")
	}
	return response{contentType: "text/event-stream", body: b.String()}
}

func TestWait(t *testing.T) {
	tests := []struct {
		name      string
		responses []response
		wantText  string
		wantErr   bool
		progress  []string
	}{
		{"running then succeeded", []response{
			jsonResponse(`{"id":9,"status":"starting","output":""}`),
			jsonResponse(`{"id":9,"status":"running","output":"ab"}`),
			jsonResponse(`{"id":9,"status":"succeeded","output":"abc","credits":0.5,"root_id":8}`),
		}, "abc", false, []string{"ab", "abc"}},
		{"data envelope and string ids", []response{
			jsonResponse(`{"data":{"id":"9","status":"succeeded","output":"ok","root_id":"8","credits":"0.1"}}`),
		}, "ok", false, []string{"ok"}},
		{"output as object", []response{
			jsonResponse(`{"id":9,"status":"succeeded","output":{"response":42}}`),
		}, `{"response":42}`, false, []string{`{"response":42}`}},
		{"failed", []response{
			jsonResponse(`{"id":9,"status":"running","output":"par"}`),
			jsonResponse(`{"id":9,"status":"failed","output":"par","error":"quota exceeded"}`),
		}, "par", true, []string{"par"}},
		{"error as object", []response{
			jsonResponse(`{"id":9,"status":"error","error":{"message":"boom","code":7}}`),
		}, "", true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newScriptedServer(t, map[string][]response{"GET /agent-responses/9": tt.responses})
			c := New(fastConfig(srv.URL, "key", &logBuffer{}))
			var progress progressLog
			res, err := c.Wait(testContext(t), 9, progress.record)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if res == nil || res.Text != tt.wantText {
				t.Fatalf("result = %+v, want text %q", res, tt.wantText)
			}
			if strings.Join(progress.texts, "|") != strings.Join(tt.progress, "|") {
				t.Errorf("progress = %q, want %q", progress.texts, tt.progress)
			}
			var execErr *ExecutionError
			if tt.wantErr && (!errors.As(err, &execErr) || execErr.Message == "") {
				t.Errorf("err = %#v, want an *ExecutionError with a message", err)
			}
		})
	}
}

func TestWaitInvalidID(t *testing.T) {
	c := New(Config{BaseURL: "http://127.0.0.1:1"})
	if _, err := c.Wait(testContext(t), 0, nil); err == nil {
		t.Fatal("err = nil, want an invalid id error")
	}
}

func TestPollKeepsStreamedText(t *testing.T) {
	tests := []struct {
		name     string
		polls    []response
		wantText string
		progress []string
	}{
		{"running poll with less text", []response{
			jsonResponse(`{"id":9,"status":"running","output":""}`),
			jsonResponse(`{"id":9,"status":"running","output":"stre"}`),
			jsonResponse(`{"id":9,"status":"succeeded","output":"streamed and more"}`),
		}, "streamed and more", []string{"streamed", "streamed and more"}},
		{"final text differs", []response{
			jsonResponse(`{"id":9,"status":"succeeded","output":"Streamed, edited"}`),
		}, "Streamed, edited", []string{"streamed", "Streamed, edited"}},
		{"final without output", []response{
			jsonResponse(`{"id":9,"status":"succeeded","output":""}`),
		}, "streamed", []string{"streamed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newScriptedServer(t, map[string][]response{
				"POST /agents/7/execute": {sseResponse(`{"id":9,"status":"running","output":"streamed"}`)},
				"GET /agent-responses/9": tt.polls,
			})
			c := New(fastConfig(srv.URL, "key", &logBuffer{}))
			var progress progressLog
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, progress.record)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != tt.wantText {
				t.Errorf("text = %q, want %q", res.Text, tt.wantText)
			}
			if strings.Join(progress.texts, "|") != strings.Join(tt.progress, "|") {
				t.Errorf("progress = %q, want %q", progress.texts, tt.progress)
			}
		})
	}
}

func TestExecuteOddAnswers(t *testing.T) {
	tests := []struct {
		name     string
		execute  []response
		polls    []response
		wantText string
		executes int
	}{
		{"json response instead of a stream", []response{
			jsonResponse(`{"template_id":"7","responses":[{"id":9,"status":"starting","output":""}]}`),
		}, []response{jsonResponse(`{"id":9,"status":"succeeded","output":"from poll"}`)}, "from poll", 1},
		{"json response already finished", []response{
			jsonResponse(`{"template_id":"7","responses":[{"id":9,"status":"succeeded","output":"done"}]}`),
		}, nil, "done", 1},
		{"success without text reads the execution", []response{
			sseResponse(`{"id":9,"status":"completed","output":"","credits":1}`),
		}, []response{jsonResponse(`{"id":9,"status":"succeeded","output":"late text"}`)}, "late text", 1},
		{"garbage lines skipped", []response{
			sseResponse(`not json`, `{"id":9,"status":"running","output":"a"}`, `{"id":9,`, `[DONE]`,
				`{"id":9,"status":"completed","output":""}`),
		}, nil, "a", 1},
		{"error-only event then end retries", []response{
			sseResponse(`{"error":"Internal server error"}`),
			sseResponse(`{"id":9,"status":"running","output":"b"}`, `{"id":9,"status":"completed"}`),
		}, nil, "b", 2},
		{"stream without content type", []response{
			{contentType: " ", body: "data: {\"id\":9,\"status\":\"completed\",\"output\":\"c\"}\n\n"},
		}, nil, "c", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, s := newScriptedServer(t, map[string][]response{
				"POST /agents/7/execute": tt.execute,
				"GET /agent-responses/9": tt.polls,
			})
			c := New(fastConfig(srv.URL, "key", &logBuffer{}))
			res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if res.Text != tt.wantText || res.ExecutionID != 9 {
				t.Errorf("result = %+v, want id 9 and text %q", res, tt.wantText)
			}
			if n := s.count("POST /agents/7/execute"); n != tt.executes {
				t.Errorf("executes = %d, want %d", n, tt.executes)
			}
		})
	}
}

func TestExecuteStreamWithoutID(t *testing.T) {
	srv, _ := newScriptedServer(t, map[string][]response{
		"POST /agents/7/execute": {sseResponse(`{"status":"running","output":"no id"}`)},
	})
	c := New(fastConfig(srv.URL, "key", &logBuffer{}))
	res, err := c.Execute(testContext(t), ExecuteRequest{AgentID: "7", Message: "hi"}, nil)
	if err == nil {
		t.Fatal("err = nil, want an error for a stream that cannot be polled")
	}
	if res == nil || res.Text != "no id" {
		t.Errorf("result = %+v, want the streamed text", res)
	}
}
