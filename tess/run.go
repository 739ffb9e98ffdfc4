package tess

import (
	"strings"
)

// statusKind groups execution statuses.
type statusKind int

const (
	statusRunning statusKind = iota
	statusSucceeded
	statusFailed
)

// classify maps a status to its kind. SSE streams end with "completed" and polling with
// "succeeded"; "failed" and "error" are documented failures, and "canceled"/"cancelled" are
// the spellings other clients guard against. Anything else, such as "starting", "running"
// or an empty status, is still running.
func classify(status string) statusKind {
	switch strings.ToLower(strings.TrimSpace(status)) {
	case "completed", "succeeded":
		return statusSucceeded
	case "failed", "error", "canceled", "cancelled":
		return statusFailed
	}
	return statusRunning
}

// transcript accumulates the text of an execution. strings.Builder only appends, so each
// String result stays valid and appending a delta costs no copy of the text so far.
type transcript struct {
	b    strings.Builder
	text string
	// ambiguous is set once an output could have been read either as a delta or as
	// cumulative text, such as a delta "ha" after the text "ha".
	ambiguous bool
}

// add applies the output of one stream event and reports whether the text changed. An
// output that starts with the whole text so far is cumulative and replaces it; any other
// output is a delta and is appended.
func (t *transcript) add(out string) bool {
	if out == "" {
		return false
	}
	switch {
	case strings.HasPrefix(out, t.text):
		t.ambiguous = t.ambiguous || t.text != ""
		if len(out) == len(t.text) {
			return false
		}
		out = out[len(t.text):]
	case strings.HasPrefix(t.text, out):
		// A delta that repeats the start of the text, or cumulative output that shrank.
		t.ambiguous = true
	}
	t.b.WriteString(out)
	t.text = t.b.String()
	return true
}

// setFull applies the whole output of a polled execution and reports whether the text
// changed. Output that extends the text so far is taken as it is. Output that disagrees
// with the text so far replaces it only when final, because a running execution may
// report less than the stream already showed.
func (t *transcript) setFull(out string, final bool) bool {
	switch {
	case out == t.text || out == "":
		return false
	case strings.HasPrefix(out, t.text):
		t.b.WriteString(out[len(t.text):])
	case final:
		t.b.Reset()
		t.b.WriteString(out)
	default:
		return false
	}
	t.text = t.b.String()
	return true
}

// runState is the known state of one execution while it streams and is polled.
type runState struct {
	id, rootID int64
	status     string
	kind       statusKind
	errText    string
	credits    float64
	text       transcript
	events     int // decoded events that carried an id, a status or output
	lastError  string
	onProgress func(Progress)
}

// applyEvent applies one decoded stream event.
func (st *runState) applyEvent(ev *execution) {
	if ev.ID == 0 && ev.Status == "" && ev.Output == "" {
		// An event with nothing but an error, such as {"error":"..."}, may explain why
		// the stream ends but carries no state of the execution.
		st.lastError = string(ev.Error)
		return
	}
	st.events++
	st.applyMeta(ev)
	if st.kind != statusRunning && ev.Output == st.text.text {
		// A terminal event that repeats the whole text confirms it.
		return
	}
	if st.text.add(ev.Output) {
		st.progress()
	}
}

// applyPolled applies the state of a polled execution.
func (st *runState) applyPolled(ev *execution) {
	st.applyMeta(ev)
	if st.text.setFull(ev.Output, st.kind != statusRunning) {
		st.progress()
	}
}

// applyMeta takes the ids, status, error and credits of ev.
func (st *runState) applyMeta(ev *execution) {
	if st.id == 0 && ev.ID != 0 {
		st.id = int64(ev.ID)
	}
	if ev.RootID != 0 {
		st.rootID = int64(ev.RootID)
	}
	if ev.Credits != 0 {
		st.credits = float64(ev.Credits)
	}
	if ev.Status != "" {
		st.status = ev.Status
		st.kind = classify(ev.Status)
	}
	if st.kind == statusFailed {
		st.errText = string(ev.Error)
	}
}

func (st *runState) progress() {
	if st.onProgress != nil {
		st.onProgress(Progress{ExecutionID: st.id, RootID: st.root(), Text: st.text.text})
	}
}

// root returns the conversation of the execution. The first execution of a conversation
// is its own root, so a missing root_id falls back to the id.
func (st *runState) root() int64 {
	if st.rootID != 0 {
		return st.rootID
	}
	return st.id
}

// result returns what is known of the execution, finished or not.
func (st *runState) result() *Result {
	return &Result{
		ExecutionID: st.id,
		RootID:      st.root(),
		Text:        st.text.text,
		Credits:     st.credits,
		Status:      st.status,
	}
}

// finish returns the result of a terminal execution, with an *ExecutionError on failure.
func (st *runState) finish(redact func(string) string) (*Result, error) {
	if st.kind == statusFailed {
		return st.result(), &ExecutionError{
			ExecutionID: st.id,
			RootID:      st.root(),
			Status:      st.status,
			Message:     redact(st.errText),
		}
	}
	return st.result(), nil
}
