package tess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxErrorBody bounds how much of an error response is read.
const maxErrorBody = 64 << 10

// maxJSONBody bounds how much of a JSON response is read.
const maxJSONBody = 16 << 20

// newRequest builds a request for path with the headers every Tess call carries.
func (c *Client) newRequest(ctx context.Context, method, path string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, body)
	if err != nil {
		return nil, fmt.Errorf("tess: build %s %s: %w", method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Accept", "application/json")
	if c.cfg.WorkspaceID != "" {
		req.Header.Set("x-workspace-id", c.cfg.WorkspaceID)
	}
	return req, nil
}

// wait takes a token from the client's rate limiter. When the wait would outlast ctx's
// deadline it fails at once with an error that wraps context.DeadlineExceeded.
func (c *Client) wait(ctx context.Context) error {
	if err := c.limiter.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("tess: rate limiter: %w: %w", err, context.DeadlineExceeded)
	}
	return nil
}

// send sends req without waiting for the limiter. A response outside 2xx becomes an
// *APIError; a connection error becomes a *transientError unless ctx, the caller's
// context, has ended.
func (c *Client) send(ctx context.Context, req *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// net/http quotes malformed response lines and header values in its errors, so
		// a server that echoes the request could put the key there.
		return nil, &transientError{c.redactErr(fmt.Errorf("tess: %s %s: %w", req.Method, req.URL.Path, err))}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	return nil, c.readAPIError(req, resp)
}

// do waits for the limiter, then sends req.
func (c *Client) do(ctx context.Context, req *http.Request) (*http.Response, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return c.send(ctx, req)
}

// getJSON sends GET path once and decodes the response into v after unwrapEnvelope.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	req, err := c.newRequest(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return c.decodeBody(req, resp, v)
}

// decodeBody decodes a JSON response into v after unwrapEnvelope.
func (c *Client) decodeBody(req *http.Request, resp *http.Response, v any) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	if err != nil {
		return &transientError{c.redactErr(fmt.Errorf("tess: read %s %s: %w", req.Method, req.URL.Path, err))}
	}
	if err := json.Unmarshal(unwrapEnvelope(body), v); err != nil {
		// Decoding errors quote the value that did not decode.
		return c.redactErr(fmt.Errorf("tess: decode %s %s: %w", req.Method, req.URL.Path, err))
	}
	return nil
}

// errorBody is the error response body of the Tess API, with the spellings seen in the wild.
type errorBody struct {
	Error      flexText        `json:"error"`
	Message    flexText        `json:"message"`
	Messages   json.RawMessage `json:"messages"`
	Errors     json.RawMessage `json:"errors"`
	RetryAfter flexFloat       `json:"retry_after"`
}

// readAPIError builds the *APIError for a non-2xx response.
func (c *Client) readAPIError(req *http.Request, resp *http.Response) *APIError {
	e := &APIError{Method: req.Method, Path: req.URL.Path, StatusCode: resp.StatusCode}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body errorBody
	if json.Unmarshal(raw, &body) == nil {
		e.Message = c.redact(string(body.Error))
		if e.Message == "" {
			e.Message = c.redact(string(body.Message))
		}
		e.Messages = c.validationMessages(body.Messages)
		if e.Messages == nil {
			e.Messages = c.validationMessages(body.Errors)
		}
		e.RetryAfter = seconds(float64(body.RetryAfter))
	} else if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		e.Message = truncate(c.redact(strings.TrimSpace(string(raw))), 200)
	}
	if e.RetryAfter <= 0 {
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return e
}

// validationMessages decodes "messages" as a map of field to messages, a map of field to
// one message, a list of messages, or one message.
func (c *Client) validationMessages(raw json.RawMessage) map[string][]string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	out := map[string][]string{}
	var byField map[string]json.RawMessage
	var list []flexText
	var one flexText
	switch {
	case json.Unmarshal(raw, &byField) == nil:
		for field, v := range byField {
			var msgs []flexText
			if json.Unmarshal(v, &msgs) != nil {
				var msg flexText
				_ = json.Unmarshal(v, &msg)
				msgs = []flexText{msg}
			}
			for _, m := range msgs {
				out[field] = append(out[field], c.redact(string(m)))
			}
		}
	case json.Unmarshal(raw, &list) == nil:
		for _, m := range list {
			out[""] = append(out[""], c.redact(string(m)))
		}
	case json.Unmarshal(raw, &one) == nil && one != "":
		out[""] = []string{c.redact(string(one))}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// parseRetryAfter reads a Retry-After header in seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		return seconds(s)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// maxRetryAfter bounds a wait read from a response, so that a huge value, which still
// asks for a long wait, cannot overflow a Duration.
const maxRetryAfter = 24 * time.Hour

// seconds converts a count of seconds to a Duration of at most maxRetryAfter, treating
// zero, negative and NaN values as absent.
func seconds(s float64) time.Duration {
	switch {
	case !(s > 0):
		return 0
	case s >= maxRetryAfter.Seconds():
		return maxRetryAfter
	}
	return time.Duration(s * float64(time.Second))
}

// redact removes the API key from text that came from the server.
func (c *Client) redact(s string) string {
	if c.cfg.APIKey == "" || !strings.Contains(s, c.cfg.APIKey) {
		return s
	}
	return strings.ReplaceAll(s, c.cfg.APIKey, "[redacted]")
}

// redactedError is an error whose text has the API key removed. It unwraps to the
// original error, so that errors.Is and errors.As still match it.
type redactedError struct {
	err  error
	text string
}

func (e *redactedError) Error() string { return e.text }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with the API key removed from its text, or err itself when its
// text does not contain the key.
func (c *Client) redactErr(err error) error {
	if err == nil || c.cfg.APIKey == "" || !strings.Contains(err.Error(), c.cfg.APIKey) {
		return err
	}
	return &redactedError{err: err, text: c.redact(err.Error())}
}

// isRetryable reports whether err is worth retrying: a 429, a 5xx or a transient error.
func isRetryable(err error) bool {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode >= 500
	}
	var transient *transientError
	return errors.As(err, &transient)
}
