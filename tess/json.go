package tess

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// The Tess API is not consistent about JSON types: template_id is a string in one place and
// a number in another, and the docs leave most field types unstated. The types below accept
// every plausible spelling so that a type change on the server never breaks a reply.

// flexInt is an integer sent as a JSON number, a numeric string or null.
type flexInt int64

// UnmarshalJSON decodes a number, a numeric string or null.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = unquote(b)
	if len(b) == 0 || string(b) == "null" {
		*n = 0
		return nil
	}
	if v, ok := parseDigits(b); ok {
		*n = flexInt(v)
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("decode integer %.40q: %w", b, err)
	}
	*n = flexInt(f)
	return nil
}

// parseDigits parses a decimal integer without allocating.
func parseDigits(b []byte) (int64, bool) {
	neg := len(b) > 0 && b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// flexFloat is a number sent as a JSON number, a numeric string or null.
type flexFloat float64

// UnmarshalJSON decodes a number, a numeric string or null.
func (f *flexFloat) UnmarshalJSON(b []byte) error {
	b = unquote(b)
	if len(b) == 0 || string(b) == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("decode number %.40q: %w", b, err)
	}
	*f = flexFloat(v)
	return nil
}

// flexBool is a boolean sent as true/false, 1/0, or either as a string.
type flexBool bool

// UnmarshalJSON decodes true, false, 1, 0, their quoted forms, or null.
func (v *flexBool) UnmarshalJSON(b []byte) error {
	switch string(unquote(b)) {
	case "true", "1":
		*v = true
	default:
		*v = false
	}
	return nil
}

// flexText is text sent as a JSON string, or as another value that is kept as JSON text.
// An object gives its "message", "value", "label" or "name" member, in that order.
type flexText string

// UnmarshalJSON decodes any JSON value into text.
func (t *flexText) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = flexText(s)
	case b[0] == '{':
		var obj map[string]flexText
		if json.Unmarshal(b, &obj) == nil {
			for _, key := range []string{"message", "value", "label", "name"} {
				if s := obj[key]; s != "" {
					*t = s
					return nil
				}
			}
		}
		*t = flexText(b)
	default:
		*t = flexText(b)
	}
	return nil
}

// unquote strips the quotes of a JSON string that needs no unescaping.
func unquote(b []byte) []byte {
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0 {
		return b[1 : len(b)-1]
	}
	return b
}

// execution is an execution object, as SSE events and GET /agent-responses/{id} carry it.
type execution struct {
	ID      flexInt   `json:"id"`
	Status  string    `json:"status"`
	Output  string    `json:"output"`
	Error   flexText  `json:"error"`
	Credits flexFloat `json:"credits"`
	RootID  flexInt   `json:"root_id"`
}

// looseExecution decodes an execution whose status or output is not a JSON string.
type looseExecution struct {
	execution
	Status flexText `json:"status"`
	Output flexText `json:"output"`
}

// decodeExecution decodes one execution object. The common case takes the fast path of
// plain strings; an output that is an object or a number is kept as JSON text.
func decodeExecution(data []byte, ev *execution) error {
	*ev = execution{}
	err := json.Unmarshal(data, ev)
	if err == nil {
		return nil
	}
	if !isTypeError(err) {
		return err
	}
	var loose looseExecution
	if err := json.Unmarshal(data, &loose); err != nil {
		return err
	}
	*ev = loose.execution
	ev.Status = string(loose.Status)
	ev.Output = string(loose.Output)
	return nil
}

// isTypeError reports whether err is a JSON value of the wrong type. It is a function of
// its own so that the fast path of decodeExecution does not allocate the target of As.
func isTypeError(err error) bool {
	var typeErr *json.UnmarshalTypeError
	return errors.As(err, &typeErr)
}

// unwrapEnvelope returns the object inside {"data": {...}} or {"responses": [{...}, ...]},
// or body itself when it has neither.
func unwrapEnvelope(body []byte) []byte {
	var env struct {
		Data      json.RawMessage   `json:"data"`
		Responses []json.RawMessage `json:"responses"`
	}
	if json.Unmarshal(body, &env) != nil {
		return body
	}
	switch {
	case len(env.Responses) > 0:
		return env.Responses[0]
	case len(env.Data) > 0 && env.Data[0] == '{':
		return env.Data
	}
	return body
}
