package tess

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// errStreamIdle ends a stream that received no event for Config.StreamIdleTimeout.
var errStreamIdle = errors.New("tess: stream received no event for the idle timeout")

// executeBody is the JSON body of POST /agents/{id}/execute.
type executeBody struct {
	Messages    []Message `json:"messages"`
	Stream      bool      `json:"stream"`
	RootID      int64     `json:"root_id,omitempty"`
	FileIDs     []int64   `json:"file_ids,omitempty"`
	Model       string    `json:"model,omitempty"`
	Tools       string    `json:"tools,omitempty"`
	Temperature string    `json:"temperature,omitempty"` // Tess takes a string, "0".."2"
}

// encode validates req and returns its JSON body.
func (req *ExecuteRequest) encode() ([]byte, error) {
	if strings.TrimSpace(req.AgentID) == "" {
		return nil, errors.New("tess: execute: missing agent id")
	}
	msgs := req.Messages
	if len(msgs) == 0 {
		msgs = []Message{{Role: "user", Content: req.Message}}
	}
	body := executeBody{
		Messages:    normalizeMessages(msgs),
		Stream:      true,
		RootID:      req.RootID,
		FileIDs:     req.FileIDs,
		Model:       req.Model,
		Tools:       req.Tools,
		Temperature: req.Temperature,
	}
	if len(body.Messages) == 0 {
		return nil, errors.New("tess: execute: no message to send")
	}
	return json.Marshal(body)
}

// normalizeMessages makes msgs acceptable to Tess, which rejects the "system" role and
// expects alternating roles. A leading "system" message is sent as "developer", the only
// role Tess takes first, and a later one as "user". Consecutive messages of one role are
// merged, and empty messages are dropped.
func normalizeMessages(msgs []Message) []Message {
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		if strings.TrimSpace(m.Content) == "" {
			continue
		}
		role := strings.ToLower(m.Role)
		switch {
		case (role == "system" || role == "developer") && len(out) == 0:
			role = "developer"
		case role != "assistant":
			role = "user"
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content += "\n\n" + m.Content
			continue
		}
		out = append(out, Message{Role: role, Content: m.Content})
	}
	return out
}

// Execute runs req with stream:true and calls onProgress, from the calling goroutine, each
// time the answer grows. When the stream breaks before a terminal status it polls
// GET /agent-responses/{id} for the rest. It returns the finished execution, or an error
// (an *APIError for HTTP failures, an *ExecutionError for a failed execution).
//
// A 429, a 5xx or a connection error before the first event retries the call. Once an
// execution id is known the error comes with a non-nil Result that holds the ids and the
// text so far, so that a caller can keep the conversation and the partial answer.
func (c *Client) Execute(ctx context.Context, req ExecuteRequest, onProgress func(Progress)) (*Result, error) {
	body, err := req.encode()
	if err != nil {
		return nil, err
	}

	st := &runState{rootID: req.RootID, onProgress: onProgress}
	path := "/agents/" + url.PathEscape(req.AgentID) + "/execute"
	// NOTE: a 5xx (such as Cloudflare's 524) can come after Tess has started the execution,
	// so a retry may run the agent twice. The first run's id is unknown, so it cannot be
	// polled instead.
	err = c.retry(ctx, "execute", func() error {
		return c.streamOnce(ctx, path, body, st)
	})
	if err != nil {
		if st.id != 0 {
			return st.result(), err
		}
		return nil, err
	}

	if st.kind != statusRunning {
		return c.finishStreamed(ctx, st)
	}
	if err := ctx.Err(); err != nil {
		return st.result(), err
	}
	if st.id == 0 {
		return st.result(), errors.New("tess: execute: stream ended before the execution finished " +
			"and gave no execution id to poll")
	}
	c.log.Info("tess stream ended before the execution finished, polling",
		"execution_id", st.id,
		"root_id", st.root(),
		"status", st.status)
	return c.poll(ctx, st, c.cfg.PollInterval)
}

// finishStreamed returns a streamed execution that reached a terminal status. A success
// is read once more from GET /agent-responses/{id} when the stream gave no text, in case
// it carried the text in a form this client does not know, or when its outputs read both
// as deltas and as cumulative text.
func (c *Client) finishStreamed(ctx context.Context, st *runState) (*Result, error) {
	if st.kind == statusSucceeded && (st.text.text == "" || st.text.ambiguous) && st.id != 0 {
		var ev execution
		err := c.retry(ctx, "get execution", func() error { return c.getExecution(ctx, st.id, &ev) })
		if err != nil {
			c.log.Warn("tess could not read a finished execution to confirm its text",
				"execution_id", st.id,
				"err", err)
		} else if classify(ev.Status) == statusSucceeded {
			st.applyPolled(&ev)
		}
	}
	return st.finish(c.redact)
}

// streamOnce sends one execute request and reads its events into st. It returns an error
// only when no event arrived, so that the call can be retried without repeating text. A
// stream that breaks later returns nil and leaves st running.
func (c *Client) streamOnce(ctx context.Context, path string, body []byte, st *runState) error {
	if err := c.wait(ctx); err != nil {
		return err
	}
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(c.cfg.StreamIdleTimeout, func() { cancel(errStreamIdle) })
	defer idle.Stop()

	req, err := c.newRequest(sctx, http.MethodPost, path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream, application/json")
	resp, err := c.send(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()

	if !isEventStream(resp) {
		return c.readExecuteJSON(req, resp, st)
	}
	err = c.readEvents(newSSEReader(resp.Body), st, func() { idle.Reset(c.cfg.StreamIdleTimeout) })
	err = c.redactErr(err)
	switch {
	case err == nil: // a terminal status
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case context.Cause(sctx) == errStreamIdle:
		err = errStreamIdle
	}
	if st.events > 0 {
		c.log.Info("tess stream broke", "execution_id", st.id, "err", err)
		return nil
	}
	if st.lastError != "" {
		err = fmt.Errorf("%w (last stream error: %s)", err, c.redact(st.lastError))
	}
	return &transientError{fmt.Errorf("tess: POST %s: stream ended before the first event: %w", path, err)}
}

// readEvents applies events to st until a terminal status, the end of the stream or a read
// error, and calls onEvent after each event that has data. Comments such as keep-alives
// are not events, so a stream that sends only those still meets the idle timeout. It
// returns nil after a terminal status, and otherwise the read error, io.EOF included.
func (c *Client) readEvents(events *sseReader, st *runState, onEvent func()) error {
	var ev execution
	for {
		data, err := events.Next()
		if err != nil {
			return err
		}
		onEvent()
		if string(data) == "[DONE]" {
			continue
		}
		if err := decodeExecution(data, &ev); err != nil {
			c.log.Debug("tess skipped an event that is not an execution",
				"execution_id", st.id,
				"err", c.redactErr(err))
			continue
		}
		st.applyEvent(&ev)
		if st.kind != statusRunning {
			return nil
		}
	}
}

// readExecuteJSON reads an execute response that is JSON rather than a stream, as Tess
// sends without stream:true: an execution, alone or in a "responses" array.
func (c *Client) readExecuteJSON(req *http.Request, resp *http.Response, st *runState) error {
	var ev execution
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	if err != nil {
		return &transientError{c.redactErr(fmt.Errorf("tess: read %s %s: %w", req.Method, req.URL.Path, err))}
	}
	if err := decodeExecution(unwrapEnvelope(raw), &ev); err != nil || ev.ID == 0 {
		return &transientError{fmt.Errorf("tess: %s %s: response is neither a stream nor an execution",
			req.Method, req.URL.Path)}
	}
	st.events++
	st.applyPolled(&ev)
	return nil
}

// isEventStream reports whether resp is a text/event-stream. A response without a
// content type is read as a stream, since that is what was asked for.
func isEventStream(resp *http.Response) bool {
	ct := resp.Header.Get("Content-Type")
	if ct == "" {
		return true
	}
	mediaType, _, _ := mime.ParseMediaType(ct)
	return mediaType == "text/event-stream"
}
