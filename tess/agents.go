package tess

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// agentJSON is the part of GET /agents/{id} that is decoded.
type agentJSON struct {
	ID        flexInt        `json:"id"`
	Title     flexText       `json:"title"`
	Type      flexText       `json:"type"`
	Questions []questionJSON `json:"questions"`
}

// questionJSON is one entry of an agent's questions. Options are strings in the docs;
// objects and numbers are accepted too.
type questionJSON struct {
	Name     flexText          `json:"name"`
	Type     flexText          `json:"type"`
	Required flexBool          `json:"required"`
	Options  []json.RawMessage `json:"options"`
}

// Agent fetches agent id.
func (c *Client) Agent(ctx context.Context, id string) (*Agent, error) {
	if strings.TrimSpace(id) == "" {
		return nil, errors.New("tess: agent: missing agent id")
	}
	var a agentJSON
	err := c.retry(ctx, "get agent", func() error {
		return c.getJSON(ctx, "/agents/"+url.PathEscape(id), &a)
	})
	if err != nil {
		return nil, err
	}
	agent := &Agent{ID: int64(a.ID), Title: string(a.Title), Type: string(a.Type)}
	for _, q := range a.Questions {
		agent.Questions = append(agent.Questions, Question{
			Name:     string(q.Name),
			Type:     string(q.Type),
			Required: bool(q.Required),
			Options:  optionValues(q.Options),
		})
	}
	return agent, nil
}

// optionValues turns the options of a question into strings.
func optionValues(raw []json.RawMessage) []string {
	var out []string
	for _, r := range raw {
		var t flexText
		if json.Unmarshal(r, &t) == nil && t != "" {
			out = append(out, string(t))
		}
	}
	return out
}

// CheckAgent is the start-up check of the configured agent. It fetches agent id and
// returns an error that names the cause when the key, the workspace or the id is wrong.
// For an agent that is not a chat agent it returns the agent together with an error
// wrapping ErrNotChatAgent, which the caller can log as a warning and go on.
func (c *Client) CheckAgent(ctx context.Context, id string) (*Agent, error) {
	agent, err := c.Agent(ctx, id)
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return nil, fmt.Errorf("tess: check agent %s: %s: %w", id, startupHint(apiErr), err)
	}
	if err != nil {
		return nil, fmt.Errorf("tess: check agent %s: %w", id, err)
	}
	if !strings.EqualFold(agent.Type, "chat") {
		return agent, fmt.Errorf("tess: agent %s (%q) has type %q, so it may not take chat messages: %w",
			id, agent.Title, agent.Type, ErrNotChatAgent)
	}
	return agent, nil
}

// startupHint returns what an operator should fix for a failed start-up check.
func startupHint(e *APIError) string {
	switch e.kind() {
	case kindAuth:
		return "the Tess API key was rejected; check that it is copied whole and has not expired"
	case kindWorkspace:
		return "the workspace id was rejected; use the number from Tess workspace settings " +
			"or leave it empty"
	case kindNotFound:
		return "the agent was not found; check the agent id (the number in the agent's URL) " +
			"and that it belongs to the workspace"
	case kindRateLimited:
		return "Tess is rate limiting this key"
	case kindServer:
		return "Tess is failing"
	}
	return "Tess rejected the request"
}
