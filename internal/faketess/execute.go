package faketess

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Script is the scripted behaviour of one execution.
type Script struct {
	Deltas     []string      // pieces of the output, one event each
	Delay      time.Duration // wait before each delta
	Cumulative bool          // each event carries the whole text so far, not a delta
	Status     string        // terminal status; default "completed"; or failed, error, canceled
	Error      string        // error text of a failed execution
	Credits    float64       // credits of the terminal event; default 0.01

	// Cut breaks the stream after CutAfter deltas. The execution goes on running
	// server-side: GET /agent-responses/{id} returns "running" with the text sent so far
	// PendingPolls times, then the terminal status ("succeeded" for "completed") with the
	// whole output.
	Cut          CutMode
	CutAfter     int
	PendingPolls int

	// Hold, when not nil, makes the stream wait after HoldAfter deltas until Hold is
	// closed or the client goes away, such as to test cancellation.
	Hold      <-chan struct{}
	HoldAfter int

	KeepAlive   bool // send a ": keep-alive" comment line before each event
	CRLF        bool // end lines with CRLF instead of LF
	MultiLine   bool // split the JSON of each event over two data lines
	Done        bool // send "data: [DONE]" after the terminal event
	StringIDs   bool // send id and root_id as JSON strings
	FinalOutput bool // the terminal event carries the whole output instead of ""
}

// CutMode is the way a scripted stream breaks.
type CutMode int

const (
	NoCut   CutMode = iota // stream every delta and the terminal event
	CutDrop                // close the connection mid-stream; the client reads an unexpected EOF
	CutEOF                 // end the response cleanly without a terminal event
	Cut524                 // respond HTTP 524 (Cloudflare's timeout) without any event; CutAfter is ignored
)

// Echo is the default script: the last user message, echoed in up to three deltas.
func Echo(rec ExecuteRecord) Script {
	msg := "(empty)"
	for i := len(rec.Messages) - 1; i >= 0; i-- {
		if rec.Messages[i].Role == "user" && rec.Messages[i].Content != "" {
			msg = rec.Messages[i].Content
			break
		}
	}
	return Script{Deltas: SplitText(msg, 3)}
}

// SplitText cuts s into at most n pieces of about equal length on rune boundaries.
func SplitText(s string, n int) []string {
	var out []string
	for n > 1 && s != "" {
		cut := len(s) / n
		for cut < len(s) && !utf8.RuneStart(s[cut]) {
			cut++
		}
		if cut > 0 {
			out = append(out, s[:cut])
			s = s[cut:]
		}
		n--
	}
	if s != "" {
		out = append(out, s)
	}
	return out
}

// Message is one entry of an execute request's messages.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ExecuteRecord is one accepted POST /agents/{id}/execute.
type ExecuteRecord struct {
	ExecutionID int64 // the id this execution was given
	RootID      int64 // root_id sent; 0 for a new conversation
	AgentID     string
	Messages    []Message
	FileIDs     []int64
	Model       string
	Tools       string
	Temperature string
	Stream      bool
	Fields      map[string]json.RawMessage // the whole body by field, to check JSON types
	Header      http.Header
}

// Queue adds scripts for the next executions, used in order before the default script.
func (s *Server) Queue(scripts ...Script) {
	s.mu.Lock()
	s.scripts = append(s.scripts, scripts...)
	s.mu.Unlock()
}

// Executes returns every accepted execute request, in order.
func (s *Server) Executes() []ExecuteRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ExecuteRecord(nil), s.executes...)
}

// Polls returns how many times GET /agent-responses/{id} was served for execution id.
func (s *Server) Polls(id int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ex := s.execs[id]; ex != nil {
		return ex.polls
	}
	return 0
}

// execution is the server-side state of one execution.
type execution struct {
	id, root int64
	agentID  string
	script   Script
	full     string
	created  string
	sent     atomic.Int64 // deltas streamed so far

	// Guarded by Server.mu.
	streaming bool
	finished  bool
	pending   int
	polls     int
}

// partial returns the text of the deltas streamed so far.
func (ex *execution) partial() string {
	n := min(int(ex.sent.Load()), len(ex.script.Deltas))
	return strings.Join(ex.script.Deltas[:n], "")
}

// start gives rec an execution and a script and records it.
func (s *Server) start(rec *ExecuteRecord, rootOf int64) *execution {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextExecID++
	ex := &execution{id: s.nextExecID, agentID: rec.AgentID, streaming: rec.Stream}
	ex.root = ex.id
	if parent := s.execs[rootOf]; parent != nil {
		ex.root = parent.root
	}
	if len(s.scripts) > 0 {
		ex.script = s.scripts[0]
		s.scripts = s.scripts[1:]
	} else {
		ex.script = s.defaultScript(*rec)
	}
	if ex.script.Credits == 0 {
		ex.script.Credits = 0.01
	}
	ex.full = strings.Join(ex.script.Deltas, "")
	ex.created = time.Now().UTC().Format("2006-01-02T15:04:05.000000Z")
	ex.pending = ex.script.PendingPolls
	s.execs[ex.id] = ex
	rec.ExecutionID = ex.id
	s.executes = append(s.executes, *rec)
	return ex
}

func (s *Server) handleExecute(w http.ResponseWriter, r *http.Request) {
	rec, ok := s.decodeExecute(w, r)
	if !ok {
		return
	}
	ex := s.start(rec, rec.RootID)
	switch {
	case !rec.Stream:
		writeJSON(w, http.StatusOK, map[string]any{
			"template_id": rec.AgentID,
			"responses":   []json.RawMessage{ex.object("starting", "", false)},
		})
	case ex.script.Cut == Cut524:
		s.stopStreaming(ex)
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(status524)
		_, _ = io.WriteString(w, cloudflare524)
	default:
		s.stream(w, r, ex)
	}
}

// stream writes the events of ex as its script prescribes.
func (s *Server) stream(w http.ResponseWriter, r *http.Request, ex *execution) {
	sc := ex.script
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	sw := &sseWriter{
		w:         w,
		flusher:   w.(http.Flusher),
		eol:       "\n",
		keepAlive: sc.KeepAlive,
		multiLine: sc.MultiLine,
	}
	if sc.CRLF {
		sw.eol = "\r\n"
	}
	sw.flush()
	defer s.stopStreaming(ex)

	var text strings.Builder
	for i, delta := range sc.Deltas {
		if !s.pause(r, sc, i) {
			return
		}
		text.WriteString(delta)
		out := delta
		if sc.Cumulative {
			out = text.String()
		}
		if !sw.event(ex.object("running", out, false)) {
			return
		}
		ex.sent.Store(int64(i + 1))
	}
	if !s.pause(r, sc, len(sc.Deltas)) {
		return
	}
	final := ""
	if sc.FinalOutput {
		final = ex.full
	}
	s.finish(ex)
	sw.event(ex.object(terminalStatus(sc, false), final, true))
	if sc.Done {
		sw.line("data: [DONE]")
		sw.line("")
		sw.flush()
	}
}

// pause applies the script's hold, cut and delay before delta i. It reports whether to
// go on streaming.
func (s *Server) pause(r *http.Request, sc Script, i int) bool {
	if sc.Hold != nil && i == sc.HoldAfter && !waitFor(s, r, sc.Hold) {
		return false
	}
	if sc.Cut != NoCut && i == sc.CutAfter {
		if sc.Cut == CutDrop {
			panic(http.ErrAbortHandler)
		}
		return false
	}
	if sc.Delay > 0 && i < len(sc.Deltas) {
		t := time.NewTimer(sc.Delay)
		defer t.Stop()
		return waitFor(s, r, t.C)
	}
	return true
}

// waitFor waits for ch and reports false when the client or the test went away first.
func waitFor[T any](s *Server, r *http.Request, ch <-chan T) bool {
	select {
	case <-ch:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

// stopStreaming marks the stream of ex as gone. An execution whose stream ended before
// its terminal event goes on running server-side until polled.
func (s *Server) stopStreaming(ex *execution) {
	s.mu.Lock()
	ex.streaming = false
	s.mu.Unlock()
}

func (s *Server) finish(ex *execution) {
	s.mu.Lock()
	ex.finished = true
	s.mu.Unlock()
}

// terminalStatus returns the status a finished execution reports. The SSE stream sends
// "completed" where polling returns "succeeded".
func terminalStatus(sc Script, polled bool) string {
	status := sc.Status
	if status == "" {
		status = "completed"
	}
	if polled && status == "completed" {
		return "succeeded"
	}
	return status
}

func (s *Server) handleAgentResponse(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	ex := s.execs[id]
	if ex == nil {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Agent response not found")
		return
	}
	ex.polls++
	running := ex.streaming || (!ex.finished && ex.pending > 0)
	switch {
	case ex.streaming:
	case running:
		ex.pending--
	default:
		ex.finished = true
	}
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	if running {
		_, _ = w.Write(ex.object("running", ex.partial(), false))
		return
	}
	_, _ = w.Write(ex.object(terminalStatus(ex.script, true), ex.full, true))
}
