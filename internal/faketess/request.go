package faketess

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxExecuteBody bounds the body of an execute request.
const maxExecuteBody = 10 << 20

// executeBody is the typed view of an execute request.
type executeBody struct {
	Messages []Message `json:"messages"`
	RootID   int64     `json:"root_id"`
	FileIDs  []int64   `json:"file_ids"`
	Model    string    `json:"model"`
	Tools    string    `json:"tools"`
	Stream   bool      `json:"stream"`
}

// decodeExecute reads and validates an execute request. On failure it writes the
// response a strict Tess would give and returns false.
func (s *Server) decodeExecute(w http.ResponseWriter, r *http.Request) (*ExecuteRecord, bool) {
	agentID := r.PathValue("id")
	if _, ok := s.agent(agentID); !ok {
		writeError(w, http.StatusNotFound, "Agent not found")
		return nil, false
	}

	raw, err := io.ReadAll(io.LimitReader(r.Body, maxExecuteBody))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Could not read the request body")
		return nil, false
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		writeError(w, http.StatusBadRequest, "The request body must be a JSON object")
		return nil, false
	}

	var body executeBody
	if err := json.Unmarshal(raw, &body); err != nil {
		writeValidation(w, fieldOf(err), "The field has the wrong type.")
		return nil, false
	}
	rec := &ExecuteRecord{
		RootID:   body.RootID,
		AgentID:  agentID,
		Messages: body.Messages,
		FileIDs:  body.FileIDs,
		Model:    body.Model,
		Tools:    body.Tools,
		Stream:   body.Stream,
		Fields:   fields,
		Header:   r.Header.Clone(),
	}

	if t, ok := fields["temperature"]; ok {
		if err := json.Unmarshal(t, &rec.Temperature); err != nil {
			writeValidation(w, "temperature", "The temperature must be a string.")
			return nil, false
		}
	}
	if field, msg := s.validate(rec); field != "" {
		writeValidation(w, field, msg)
		return nil, false
	}
	return rec, true
}

// validate applies the documented rules of an execute request and returns the failing
// field and its message, or "" when the request is valid.
func (s *Server) validate(rec *ExecuteRecord) (field, msg string) {
	if len(rec.Messages) == 0 {
		return "messages", "The messages field is required."
	}
	for i, m := range rec.Messages {
		switch {
		case m.Role == "developer" && i > 0:
			return "messages", "A developer message is allowed only first."
		case m.Role != "user" && m.Role != "assistant" && m.Role != "developer":
			return "messages", fmt.Sprintf("The role %q is not supported.", m.Role)
		case m.Content == "":
			return "messages", "The content of a message is required."
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.RootID != 0 && s.execs[rec.RootID] == nil {
		return "root_id", "The selected root id is invalid."
	}
	for i, id := range rec.FileIDs {
		if s.files[id] == nil {
			return fmt.Sprintf("file_ids.%d", i), "The selected file is invalid."
		}
	}
	return "", ""
}

// fieldOf returns the field of a JSON type error.
func fieldOf(err error) string {
	if te, ok := err.(*json.UnmarshalTypeError); ok && te.Field != "" {
		return te.Field
	}
	return "body"
}
