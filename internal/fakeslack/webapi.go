package fakeslack

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxBodyBytes bounds request bodies. Slack's own limits are far below it.
const maxBodyBytes = 4 << 20

// object is a JSON object of a response or an event. serveAPI adds "ok" to responses.
type object map[string]any

// apiRequest is one decoded Web API request.
type apiRequest struct {
	method string
	form   url.Values
	at     time.Time
}

// handlerFunc serves one method. It returns the response body or a Slack error code.
type handlerFunc func(s *Server, req *apiRequest) (object, string)

// routes maps each served method to its handler.
var routes = map[string]handlerFunc{
	"auth.test":                   (*Server).authTest,
	"apps.connections.open":       (*Server).connectionsOpen,
	"chat.postMessage":            (*Server).postMessage,
	"chat.update":                 (*Server).updateMessage,
	"chat.postEphemeral":          (*Server).postEphemeral,
	"chat.delete":                 (*Server).deleteMessage,
	"files.info":                  (*Server).filesInfo,
	"conversations.replies":       (*Server).conversationsReplies,
	"assistant.threads.setStatus": (*Server).setStatus,
}

// serveAPI runs one Web API call: latency, authentication, injected faults, the token
// bucket, then the method's handler.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	m, ok := s.methods[name]
	if !ok || m.handle == nil {
		s.recordUnknown(name)
		writeJSON(w, http.StatusNotFound, object{"ok": false, "error": "unknown_method", "req_method": name})
		return
	}
	// The body is read before the latency so that the server notices a client that gives
	// up: net/http cancels the request context only once the body is consumed.
	form, err := readForm(r)
	if !s.sleep(r, m.delay()) {
		return
	}
	req := &apiRequest{method: name, at: time.Now()}
	if err != nil {
		s.finish(w, m, req, http.StatusOK, "invalid_form_data", nil)
		return
	}
	token := bearerToken(r)
	if token == "" {
		token = form.Get("token")
	}
	form.Del("token")
	req.form = form

	if code := s.checkToken(name, token); code != "" {
		s.finish(w, m, req, http.StatusOK, code, nil)
		return
	}
	if s.applyControls(w, m, req) {
		return
	}
	body, code := m.handle(s, req)
	s.finish(w, m, req, http.StatusOK, code, body)
}

// applyControls writes an injected fault or a 429 when one applies and reports whether it
// did.
func (s *Server) applyControls(w http.ResponseWriter, m *method, req *apiRequest) bool {
	fault, wait := m.admit(req.at)
	switch {
	case fault != nil && fault.Status != 0:
		if fault.RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(fault.RetryAfter)))
		}
		s.finishStatus(w, m, req, fault.Status)
		return true
	case fault != nil:
		s.finish(w, m, req, http.StatusOK, fault.Error, nil)
		return true
	case wait > 0:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds(wait)))
		s.finishStatus(w, m, req, http.StatusTooManyRequests)
		return true
	}
	return false
}

// finish writes the JSON response and records the call.
func (s *Server) finish(w http.ResponseWriter, m *method, req *apiRequest, status int, code string, body object) {
	if code != "" {
		body = object{"ok": false, "error": code}
	} else {
		if body == nil {
			body = object{}
		}
		body["ok"] = true
	}
	writeJSON(w, status, body)
	s.recordCall(m, req, status, code)
}

// finishStatus writes a bare HTTP status, as Slack's front end does for 5xx responses. A 429
// has an empty body because slack-go returns on the status without reading the body. Go's
// transport reuses a connection only after the body was read to its end, so a body would
// cost a new TCP connection for every rejected call.
func (s *Server) finishStatus(w http.ResponseWriter, m *method, req *apiRequest, status int) {
	code := ""
	if status == http.StatusTooManyRequests {
		code = "ratelimited"
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(status)
	} else {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status))
	}
	s.recordCall(m, req, status, code)
}

func (s *Server) recordCall(m *method, req *apiRequest, status int, code string) {
	m.record(Call{Method: req.method, Form: req.form, At: req.at, Status: status, Error: code}, !s.cfg.noCallLog)
	s.notify()
}

func (s *Server) recordUnknown(name string) {
	s.mu.Lock()
	if s.unknownCalls[name] == 0 {
		s.unknown = append(s.unknown, name)
	}
	s.unknownCalls[name]++
	s.notifyLocked()
	s.mu.Unlock()
}

// checkToken returns a Slack error code unless token is the one that method needs:
// apps.connections.open takes the app-level token, every other method the bot token.
func (s *Server) checkToken(method, token string) string {
	want := s.cfg.botToken
	if method == "apps.connections.open" {
		want = s.cfg.appToken
	}
	switch token {
	case "":
		return "not_authed"
	case want:
		return ""
	default:
		return "invalid_auth"
	}
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if token, ok := strings.CutPrefix(h, "Bearer "); ok {
		return strings.TrimSpace(token)
	}
	return ""
}

// readForm returns the request's fields from the query string and from a form or JSON
// body, whichever the Content-Type names.
func readForm(r *http.Request) (url.Values, error) {
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mediaType != "application/json" {
		r.Body = http.MaxBytesReader(nil, r.Body, maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.Form, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBodyBytes))
	if err != nil {
		return nil, err
	}
	form, err := formFromJSON(body)
	if err != nil {
		return nil, err
	}
	for key, values := range r.URL.Query() {
		form[key] = append(form[key], values...)
	}
	return form, nil
}

// formFromJSON flattens a JSON object body into form fields: strings become their value,
// numbers and booleans their literal, objects and arrays their JSON text. Null fields are
// left out, and an empty body gives an empty form.
func formFromJSON(body []byte) (url.Values, error) {
	form := url.Values{}
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return form, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, err
	}
	if fields == nil {
		return nil, errors.New("request body is not a JSON object")
	}
	for key, raw := range fields {
		raw = bytes.TrimSpace(raw)
		switch {
		case bytes.Equal(raw, []byte("null")):
		case len(raw) > 0 && raw[0] == '"':
			var value string
			if err := json.Unmarshal(raw, &value); err != nil {
				return nil, err
			}
			form.Set(key, value)
		default:
			form.Set(key, string(raw))
		}
	}
	return form, nil
}

// sleep waits d unless the request ends or the server closes first, and reports whether
// it waited the whole time.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.quit:
		return false
	}
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "fakeslack: encoding the response failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}
