package faketess

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// call sends method path with the server's key and body, and returns the status and body.
func call(t *testing.T, s *Server, method, path, body string, header http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

// event is the part of an execution object the tests read.
type event struct {
	ID      json.RawMessage `json:"id"`
	Status  string          `json:"status"`
	Output  string          `json:"output"`
	Error   *string         `json:"error"`
	Credits *float64        `json:"credits"`
	RootID  json.RawMessage `json:"root_id"`
}

// streamEvents sends an execute request and parses its stream the plain way: data lines
// joined with LF, events ended by an empty line.
func streamEvents(t *testing.T, s *Server, body string) ([]event, []string, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/agents/7/execute", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, nil, fmt.Errorf("status %d", resp.StatusCode)
	}

	var events []event
	var lines, data []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		lines = append(lines, line)
		switch {
		case line == "" && len(data) > 0:
			joined := strings.Join(data, "\n")
			data = nil
			if joined == "[DONE]" {
				continue
			}
			var ev event
			if err := json.Unmarshal([]byte(joined), &ev); err != nil {
				t.Fatalf("event %q: %v", joined, err)
			}
			events = append(events, ev)
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
	return events, lines, sc.Err()
}

const hello = `{"messages":[{"role":"user","content":"hello there"}],"stream":true}`

func TestStreamDefaultEcho(t *testing.T) {
	s := New(t)
	events, _, err := streamEvents(t, s, hello)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	for _, ev := range events[:len(events)-1] {
		if ev.Status != "running" || ev.Error != nil || ev.Credits != nil {
			t.Errorf("running event = %+v", ev)
		}
		text.WriteString(ev.Output)
	}
	last := events[len(events)-1]
	if last.Status != "completed" || last.Output != "" || last.Credits == nil {
		t.Errorf("terminal event = %+v, want completed, no output, credits", last)
	}
	if text.String() != "hello there" || len(events) != 4 {
		t.Errorf("echo = %q in %d events, want the message in 3 deltas and a terminal event", text.String(), len(events))
	}
	if string(last.ID) != string(last.RootID) {
		t.Errorf("first execution id %s and root %s differ", last.ID, last.RootID)
	}
}

func TestStreamScriptOptions(t *testing.T) {
	tests := []struct {
		name   string
		script Script
		check  func(t *testing.T, events []event, lines []string)
	}{
		{"cumulative", Script{Deltas: []string{"a", "b", "c"}, Cumulative: true}, func(t *testing.T, evs []event, _ []string) {
			if got := []string{evs[0].Output, evs[1].Output, evs[2].Output}; !slices.Equal(got, []string{"a", "ab", "abc"}) {
				t.Errorf("outputs = %q", got)
			}
		}},
		{"failed", Script{Deltas: []string{"a"}, Status: "failed", Error: "quota"}, func(t *testing.T, evs []event, _ []string) {
			last := evs[len(evs)-1]
			if last.Status != "failed" || last.Error == nil || *last.Error != "quota" {
				t.Errorf("terminal event = %+v, want failed with error", last)
			}
		}},
		{"failed in capitals", Script{Deltas: []string{"a"}, Status: "FAILED", Error: "quota"}, func(t *testing.T, evs []event, _ []string) {
			last := evs[len(evs)-1]
			if last.Status != "FAILED" || last.Error == nil || *last.Error != "quota" {
				t.Errorf("terminal event = %+v, want FAILED with its error", last)
			}
		}},
		{"crlf and keep-alive", Script{Deltas: []string{"a"}, CRLF: true, KeepAlive: true}, func(t *testing.T, _ []event, lines []string) {
			if !slices.Contains(lines, ": keep-alive") {
				t.Errorf("no keep-alive comment in %q", lines)
			}
		}},
		{"multi-line and done", Script{Deltas: []string{"a"}, MultiLine: true, Done: true}, func(t *testing.T, evs []event, lines []string) {
			if !slices.Contains(lines, "data: [DONE]") || len(evs) != 2 || evs[0].Output != "a" {
				t.Errorf("lines = %q", lines)
			}
		}},
		{"string ids", Script{Deltas: []string{"a"}, StringIDs: true}, func(t *testing.T, evs []event, _ []string) {
			if evs[0].ID[0] != '"' || evs[0].RootID[0] != '"' {
				t.Errorf("ids = %s %s, want strings", evs[0].ID, evs[0].RootID)
			}
		}},
		{"final output", Script{Deltas: []string{"a", "b"}, FinalOutput: true}, func(t *testing.T, evs []event, _ []string) {
			if evs[len(evs)-1].Output != "ab" {
				t.Errorf("terminal output = %q, want the whole text", evs[len(evs)-1].Output)
			}
		}},
		{"escaping", Script{Deltas: []string{"q\"\\\n\t\x01é\xff"}}, func(t *testing.T, evs []event, _ []string) {
			if evs[0].Output != "q\"\\\n\t\x01é\uFFFD" {
				t.Errorf("output = %q", evs[0].Output)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			s.Queue(tt.script)
			events, lines, err := streamEvents(t, s, hello)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, events, lines)
		})
	}
}

func TestStreamCutThenPoll(t *testing.T) {
	tests := []struct {
		name    string
		cut     CutMode
		wantErr bool
	}{
		{"drop", CutDrop, true},
		{"clean end", CutEOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			s.Queue(Script{Deltas: []string{"a", "b", "c"}, Cut: tt.cut, CutAfter: 2, PendingPolls: 1})
			events, _, err := streamEvents(t, s, hello)
			if (err != nil) != tt.wantErr {
				t.Fatalf("stream err = %v, want error %v", err, tt.wantErr)
			}
			if len(events) != 2 {
				t.Fatalf("events = %d, want 2 before the cut", len(events))
			}
			id := s.Executes()[0].ExecutionID
			path := fmt.Sprintf("/agent-responses/%d", id)
			want := []string{"running:ab", "succeeded:abc", "succeeded:abc"}
			for i, w := range want {
				_, body := call(t, s, "GET", path, "", nil)
				var ev event
				if err := json.Unmarshal([]byte(body), &ev); err != nil {
					t.Fatal(err)
				}
				if got := ev.Status + ":" + ev.Output; got != w {
					t.Errorf("poll %d = %q, want %q", i, got, w)
				}
			}
			if s.Polls(id) != 3 {
				t.Errorf("Polls = %d, want 3", s.Polls(id))
			}
		})
	}
}

func TestStream524(t *testing.T) {
	s := New(t)
	s.Queue(Script{Deltas: []string{"a"}, Cut: Cut524})
	status, body := call(t, s, "POST", "/agents/7/execute", hello, nil)
	if status != 524 || !strings.Contains(body, "524") {
		t.Errorf("answer = %d %q, want Cloudflare's 524", status, body)
	}
	id := s.Executes()[0].ExecutionID
	_, body = call(t, s, "GET", fmt.Sprintf("/agent-responses/%d", id), "", nil)
	if !strings.Contains(body, `"succeeded"`) {
		t.Errorf("poll after 524 = %s, want the execution finished server-side", body)
	}
}

func TestStreamHoldAndDelay(t *testing.T) {
	s := New(t)
	hold := make(chan struct{})
	s.Queue(Script{Deltas: []string{"a", "b"}, Delay: time.Millisecond, HoldAfter: 1, Hold: hold})
	done := make(chan []event)
	go func() {
		events, _, _ := streamEvents(t, s, hello)
		done <- events
	}()
	// The execution is held after its first delta, so a poll finds it running.
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs := s.Executes()
		if len(recs) == 1 {
			_, body := call(t, s, "GET", fmt.Sprintf("/agent-responses/%d", recs[0].ExecutionID), "", nil)
			if strings.Contains(body, `"output":"a"`) {
				if !strings.Contains(body, `"running"`) {
					t.Fatalf("poll while held = %s, want running", body)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the stream never reached its hold")
		}
		time.Sleep(time.Millisecond)
	}
	close(hold)
	if events := <-done; len(events) != 3 {
		t.Errorf("events = %d, want 3 after the release", len(events))
	}
}

func TestAuthAndWorkspace(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		status int
		text   string
	}{
		{"wrong key", http.Header{"Authorization": {"Bearer nope"}, "X-Workspace-Id": {"42"}}, 403, "Invalid authentication"},
		{"missing workspace", nil, 422, "required"},
		{"non-integer workspace", http.Header{"X-Workspace-Id": {"abc"}}, 422, "integer"},
		{"other workspace", http.Header{"X-Workspace-Id": {"41"}}, 403, "workspace"},
		{"right workspace", http.Header{"X-Workspace-Id": {"42"}}, 200, `"type":"chat"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t, WithWorkspaceID("42"), WithAPIKey("k-1"))
			status, body := call(t, s, "GET", "/agents/7", "", tt.header)
			if status != tt.status || !strings.Contains(body, tt.text) {
				t.Errorf("answer = %d %s, want %d with %q", status, body, tt.status, tt.text)
			}
		})
	}
}

func TestExecuteValidation(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		field string
	}{
		{"not json", `nope`, ""},
		{"no messages", `{"stream":true}`, "messages"},
		{"system role", `{"messages":[{"role":"system","content":"x"}]}`, "messages"},
		{"late developer", `{"messages":[{"role":"user","content":"x"},{"role":"developer","content":"y"}]}`, "messages"},
		{"empty content", `{"messages":[{"role":"user","content":""}]}`, "messages"},
		{"numeric temperature", `{"messages":[{"role":"user","content":"x"}],"temperature":0.5}`, "temperature"},
		{"unknown root", `{"messages":[{"role":"user","content":"x"}],"root_id":99}`, "root_id"},
		{"string root", `{"messages":[{"role":"user","content":"x"}],"root_id":"99"}`, "root_id"},
		{"unknown file", `{"messages":[{"role":"user","content":"x"}],"file_ids":[1]}`, "file_ids.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(t)
			status, body := call(t, s, "POST", "/agents/7/execute", tt.body, nil)
			if status != 400 || !strings.Contains(body, `"`+tt.field) {
				t.Errorf("answer = %d %s, want 400 naming %q", status, body, tt.field)
			}
			if n := len(s.Executes()); n != 0 {
				t.Errorf("recorded %d executes for a rejected request", n)
			}
		})
	}
}

func TestUnknownAgent(t *testing.T) {
	s := New(t, WithAgent(Agent{ID: 8, Title: "Eight", Type: "text"}))
	if status, _ := call(t, s, "GET", "/agents/7", "", nil); status != 404 {
		t.Errorf("unknown agent = %d, want 404", status)
	}
	if status, _ := call(t, s, "POST", "/agents/7/execute", hello, nil); status != 404 {
		t.Errorf("execute of unknown agent = %d, want 404", status)
	}
	status, body := call(t, s, "GET", "/agents/8", "", nil)
	if status != 200 || !strings.Contains(body, `"type":"text"`) || !strings.Contains(body, `"questions":[]`) {
		t.Errorf("registered agent = %d %s", status, body)
	}
}

func TestNonStreamExecute(t *testing.T) {
	s := New(t)
	s.Queue(Script{Deltas: []string{"x"}, PendingPolls: 1})
	status, body := call(t, s, "POST", "/agents/7/execute", `{"messages":[{"role":"user","content":"hi"}]}`, nil)
	if status != 200 || !strings.Contains(body, `"responses":[{`) || !strings.Contains(body, `"starting"`) {
		t.Fatalf("answer = %d %s, want a starting execution in responses", status, body)
	}
	id := s.Executes()[0].ExecutionID
	var got []string
	for range 2 {
		_, b := call(t, s, "GET", fmt.Sprintf("/agent-responses/%d", id), "", nil)
		var ev event
		_ = json.Unmarshal([]byte(b), &ev)
		got = append(got, ev.Status)
	}
	if !slices.Equal(got, []string{"running", "succeeded"}) {
		t.Errorf("polls = %q", got)
	}
}

func TestContinuationRoot(t *testing.T) {
	s := New(t)
	call(t, s, "POST", "/agents/7/execute", hello, nil)
	first := s.Executes()[0].ExecutionID
	body := fmt.Sprintf(`{"messages":[{"role":"user","content":"more"}],"root_id":%d,"stream":true}`, first)
	events, _, err := streamEvents(t, s, body)
	if err != nil {
		t.Fatal(err)
	}
	second := s.Executes()[1]
	if second.RootID != first || string(events[0].RootID) != fmt.Sprint(first) || second.ExecutionID == first {
		t.Errorf("continuation = %+v with root %s, want root %d", second, events[0].RootID, first)
	}
	third := fmt.Sprintf(`{"messages":[{"role":"user","content":"again"}],"root_id":%d,"stream":true}`, second.ExecutionID)
	events, _, _ = streamEvents(t, s, third)
	if string(events[0].RootID) != fmt.Sprint(first) {
		t.Errorf("root of a continuation of a continuation = %s, want %d", events[0].RootID, first)
	}
}

func TestFaults(t *testing.T) {
	s := New(t)
	s.Inject(Fault{Method: "GET", Path: "/agents/", Status: 429, RetryAfter: 3, RetryAfterHeader: "4", Times: 2})
	s.Inject(Fault{Status: 500, Body: "<html>oops</html>"})
	s.Inject(Fault{Drop: true})
	for i := range 2 {
		req, _ := http.NewRequest("GET", s.URL+"/agents/7", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "4" || !strings.Contains(string(b), `"retry_after":3`) {
			t.Errorf("answer %d = %d %q %s", i, resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
	}
	if status, body := call(t, s, "DELETE", "/files/1", "", nil); status != 500 || body != "<html>oops</html>" {
		t.Errorf("second fault = %d %s", status, body)
	}
	req, _ := http.NewRequest("POST", s.URL+"/files", strings.NewReader("x"))
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Error("dropped connection answered")
	}
	if n := s.PendingFaults(); n != 0 {
		t.Errorf("pending faults = %d", n)
	}
	if status, _ := call(t, s, "GET", "/agents/7", "", nil); status != 200 {
		t.Errorf("after the faults = %d, want 200", status)
	}
}

func TestRateLimit(t *testing.T) {
	s := New(t, WithRateLimit(0.001, 2))
	var statuses []int
	for range 3 {
		status, _ := call(t, s, "GET", "/agents/7", "", nil)
		statuses = append(statuses, status)
	}
	if !slices.Equal(statuses, []int{200, 200, 429}) || s.RateLimited() != 1 {
		t.Errorf("statuses = %v, rate limited = %d", statuses, s.RateLimited())
	}
}

// upload posts a multipart file with process and returns the status and body.
func upload(t *testing.T, s *Server, name string, data []byte, process string) (int, string) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	if process != "" {
		_ = w.WriteField("process", process)
	}
	part, _ := w.CreateFormFile("file", name)
	_, _ = part.Write(data)
	_ = w.Close()
	return call(t, s, "POST", "/files", body.String(), http.Header{"Content-Type": {w.FormDataContentType()}})
}

func TestFiles(t *testing.T) {
	s := New(t, WithMaxFiles(2), WithMaxFileBytes(100))
	s.QueueFileStatuses("processing", "completed")
	status, body := upload(t, s, "dir/a.txt", []byte("hello"), "true")
	if status != 200 || !strings.Contains(body, `"status":"waiting"`) {
		t.Fatalf("upload = %d %s", status, body)
	}
	up := s.Uploads()[0]
	if up.Filename != "dir/a.txt" || string(up.Data) != "hello" || up.Process != "true" || up.Size != 5 {
		t.Errorf("upload record = %+v", up)
	}
	path := fmt.Sprintf("/files/%d", up.FileID)
	var statuses []string
	for range 3 {
		_, b := call(t, s, "GET", path, "", nil)
		var f struct{ Status string }
		_ = json.Unmarshal([]byte(b), &f)
		statuses = append(statuses, f.Status)
	}
	if !slices.Equal(statuses, []string{"processing", "completed", "completed"}) {
		t.Errorf("statuses = %q", statuses)
	}

	if status, _ := upload(t, s, "big.bin", make([]byte, 101), "true"); status != 413 {
		t.Errorf("file over the limit = %d, want 413", status)
	}
	upload(t, s, "b.txt", []byte("b"), "")
	_, b := call(t, s, "GET", fmt.Sprintf("/files/%d", s.Uploads()[1].FileID), "", nil)
	if !strings.Contains(b, `"waiting"`) {
		t.Errorf("file uploaded without process = %s, want waiting", b)
	}
	if status, body := upload(t, s, "c.txt", []byte("c"), "true"); status != 400 || !strings.Contains(body, "limit") {
		t.Errorf("third file = %d %s, want the storage limit", status, body)
	}
	if status, _ := call(t, s, "DELETE", path, "", nil); status != 200 {
		t.Errorf("delete = %d", status)
	}
	if status, _ := call(t, s, "DELETE", path, "", nil); status != 404 {
		t.Errorf("second delete = %d, want 404", status)
	}
	if !slices.Equal(s.Deleted(), []int64{up.FileID}) || s.StoredFiles() != 1 {
		t.Errorf("deleted = %v, stored = %d", s.Deleted(), s.StoredFiles())
	}
}

func TestUploadWithoutFile(t *testing.T) {
	s := New(t)
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("process", "true")
	_ = w.Close()
	status, resp := call(t, s, "POST", "/files", body.String(), http.Header{"Content-Type": {w.FormDataContentType()}})
	if status != 400 || !strings.Contains(resp, "file") {
		t.Errorf("answer = %d %s, want 400 naming file", status, resp)
	}
	if status, _ := call(t, s, "POST", "/files", "{}", nil); status != 400 {
		t.Errorf("non-multipart upload = %d, want 400", status)
	}
}

func TestConcurrentExecutions(t *testing.T) {
	s := New(t)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			msg := fmt.Sprintf(`{"messages":[{"role":"user","content":"message %d"}],"stream":true}`, i)
			events, _, err := streamEvents(t, s, msg)
			if err != nil {
				errs <- err
				return
			}
			var text strings.Builder
			for _, ev := range events {
				text.WriteString(ev.Output)
			}
			if text.String() != fmt.Sprintf("message %d", i) {
				errs <- errors.New("echo " + text.String())
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(s.Executes()); n != 20 {
		t.Errorf("executes = %d, want 20", n)
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want []string
	}{
		{"abcdef", 3, []string{"ab", "cd", "ef"}},
		{"ab", 3, []string{"a", "b"}},
		{"", 3, nil},
		{"héllo", 2, []string{"hé", "llo"}},
		{"abc", 1, []string{"abc"}},
	}
	for _, tt := range tests {
		if got := SplitText(tt.in, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("SplitText(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("plain")
	f.Add("q\"\\\n\t\x01é\xff\u2028")
	f.Fuzz(func(t *testing.T, s string) {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil {
			t.Fatalf("appendString(%q) is not JSON: %v", s, err)
		}
		want, _ := json.Marshal(s)
		var wantS string
		_ = json.Unmarshal(want, &wantS)
		if got != wantS {
			t.Fatalf("appendString(%q) decodes to %q, want %q", s, got, wantS)
		}
	})
}
