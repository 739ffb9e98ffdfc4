package check

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/tessbot/tessbot/tess"
)

// tessFailure is the setting that a failed GET /agents/{id} points at.
type tessFailure int

const (
	failAgent     tessFailure = iota // the agent id or the agent itself
	failKey                          // the API key was rejected
	failWorkspace                    // the workspace id was rejected
	failReach                        // Tess could not be asked: network, 429 or 5xx
)

// checkTess verifies the key and the workspace with a GET /agents/{id} of the first agent,
// then each agent and the defaults against its questions.
func checkTess(ctx context.Context, opts Options) []Result {
	keyName := "tess api key"
	wsName := "tess workspace"
	if len(opts.AgentIDs) == 0 {
		return []Result{
			{Name: keyName, Status: Failed, Detail: "no agent to check it with: set TESS_AGENT_ID"},
			{Name: wsName, Status: Skipped, Detail: "needs an agent"},
		}
	}

	client := tess.New(tess.Config{
		BaseURL:     opts.TessAPIURL,
		APIKey:      opts.TessAPIKey,
		WorkspaceID: opts.TessWorkspaceID,
		HTTPClient:  opts.HTTPClient,
		MaxRetries:  1,
	})
	first := opts.AgentIDs[0]
	agent, err := fetchAgent(ctx, client, first, opts)
	kind := classifyTess(err)

	key := Result{Name: keyName, Detail: "accepted by GET /agents/" + first}
	ws := Result{Name: wsName, Detail: workspaceDetail(opts.TessWorkspaceID)}
	switch {
	case err == nil || kind == failAgent:
	case kind == failWorkspace:
		ws.Status = Failed
		ws.Detail = "the workspace id was rejected (" + err.Error() + "): set TESS_WORKSPACE_ID " +
			"to the number in the Tess workspace settings, or leave it empty"
	case kind == failKey:
		key.Status = Failed
		key.Detail = "the API key was rejected (" + err.Error() + "): check that TESS_API_KEY " +
			"is copied whole and has not expired"
		ws.Status, ws.Detail = Skipped, "needs a valid API key"
	default:
		key.Status, key.Detail = Failed, "could not check: "+err.Error()
		ws.Status, ws.Detail = Skipped, "needs an answer from Tess"
	}
	results := []Result{key, ws}
	if key.Status != OK || ws.Status != OK {
		for _, id := range opts.AgentIDs {
			results = append(results, Result{Name: agentName(id), Status: Skipped, Detail: "needs a valid key and workspace"})
		}
		return results
	}

	results = append(results, agentResults(first, agent, err, opts.Defaults)...)
	for _, id := range opts.AgentIDs[1:] {
		agent, err := fetchAgent(ctx, client, id, opts)
		results = append(results, agentResults(id, agent, err, opts.Defaults)...)
	}
	return results
}

func fetchAgent(ctx context.Context, client *tess.Client, id string, opts Options) (*tess.Agent, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	return client.Agent(ctx, id)
}

// agentResults checks that agent id exists and takes chat messages, then its defaults.
func agentResults(id string, agent *tess.Agent, err error, d Defaults) []Result {
	r := Result{Name: agentName(id)}
	defaults := Result{Name: agentName(id) + " defaults"}
	switch {
	case err != nil:
		r.Status, r.Detail = Failed, agentHint(err)
		defaults.Status, defaults.Detail = Skipped, "needs the agent"
		return []Result{r, defaults}
	case !strings.EqualFold(agent.Type, "chat"):
		r.Status = Failed
		r.Detail = fmt.Sprintf("%q has type %q, not chat, so Tess may reject chat messages: "+
			"choose a chat agent", agent.Title, agent.Type)
	default:
		r.Detail = fmt.Sprintf("%q is a chat agent", agent.Title)
	}

	resolved, err := ResolveDefaults(agent, d)
	if err != nil {
		defaults.Status, defaults.Detail = Failed, strings.ReplaceAll(err.Error(), "\n", "; ")
	} else {
		defaults.Detail = resolved.String()
	}
	return []Result{r, defaults}
}

func agentName(id string) string { return "tess agent " + id }

func workspaceDetail(id string) string {
	if id == "" {
		return "not set, so Tess uses the key's selected workspace"
	}
	return "accepted: " + id
}

// classifyTess sorts a failed GET /agents/{id} by the setting it points at. Tess reports a
// wrong workspace as 400, 403, 404 or 422 with "workspace" in the text, and a bad key as
// 401 or 403, so the text is read before the status.
func classifyTess(err error) tessFailure {
	var apiErr *tess.APIError
	if !errors.As(err, &apiErr) {
		if err == nil || strings.Contains(err.Error(), "missing agent id") {
			return failAgent
		}
		return failReach
	}
	mentionsWorkspace := strings.Contains(strings.ToLower(apiErr.Error()), "workspace")
	switch code := apiErr.StatusCode; {
	case code == http.StatusTooManyRequests || code >= 500:
		return failReach
	case mentionsWorkspace && (code == 400 || code == 403 || code == 404 || code == 422):
		return failWorkspace
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return failKey
	}
	return failAgent
}

// agentHint describes a failed GET /agents/{id} that points at the agent.
func agentHint(err error) string {
	var apiErr *tess.APIError
	if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound {
		return "not found: check the agent id (the number in the agent's URL) " +
			"and that it belongs to the workspace"
	}
	if classifyTess(err) == failReach {
		return "could not check: " + err.Error()
	}
	return err.Error()
}
