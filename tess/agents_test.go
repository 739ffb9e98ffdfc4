package tess

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tessbot/tessbot/internal/faketess"
)

func TestAgentDecode(t *testing.T) {
	srv, _ := newScriptedServer(t, map[string][]response{
		"GET /agents/7": {jsonResponse(`{"data":{"id":"7","title":"Helper","type":"chat","active":1,
			"questions":[
				{"name":"model","type":"select","required":0,"options":["tess-5",{"value":"tess-6","label":"Tess 6"},7]},
				{"name":"messages","type":"array","required":"1"},
				{"name":"tools","type":"select","required":true,"options":null}]}}`)},
	})
	c := New(fastConfig(srv.URL, "key", &logBuffer{}))
	a, err := c.Agent(testContext(t), "7")
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != 7 || a.Title != "Helper" || a.Type != "chat" {
		t.Errorf("agent = %+v, want id 7, Helper, chat", a)
	}
	model, ok := a.Question("model")
	if !ok || model.Required || !slices.Equal(model.Options, []string{"tess-5", "tess-6", "7"}) {
		t.Errorf("model question = %+v, want three options, not required", model)
	}
	if q, _ := a.Question("messages"); !q.Required {
		t.Error(`required "1" read as false`)
	}
	if q, _ := a.Question("tools"); !q.Required || q.Options != nil {
		t.Errorf("tools question = %+v, want required without options", q)
	}
	if _, ok := a.Question("missing"); ok {
		t.Error("found a question that does not exist")
	}
}

func TestCheckAgent(t *testing.T) {
	tests := []struct {
		name      string
		opts      []faketess.Option
		key       string
		workspace string
		agentID   string
		wantErr   string // substring of the error; "" for none
		notChat   bool
	}{
		{"chat agent", nil, "", "", "7", "", false},
		{"image agent", []faketess.Option{faketess.WithAgent(faketess.Agent{ID: 8, Title: "Painter", Type: "image"})},
			"", "", "8", "chat agent", true},
		{"rejected key", nil, "wrong-key", "", "7", "API key was rejected", false},
		{"wrong workspace", []faketess.Option{faketess.WithWorkspaceID("42")}, "", "41", "7", "workspace id", false},
		{"missing workspace", []faketess.Option{faketess.WithWorkspaceID("42")}, "", "-", "7", "workspace id", false},
		{"unknown agent", []faketess.Option{faketess.WithAgent(faketess.Agent{ID: 8, Type: "chat"})},
			"", "", "9", "agent was not found", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faketess.New(t, tt.opts...)
			c, _ := newFakeClient(t, srv, func(cfg *Config) {
				if tt.key != "" {
					cfg.APIKey = tt.key
				}
				switch tt.workspace {
				case "-":
					cfg.WorkspaceID = ""
				case "":
				default:
					cfg.WorkspaceID = tt.workspace
				}
			})
			a, err := c.CheckAgent(testContext(t), tt.agentID)
			if tt.wantErr == "" {
				if err != nil || a == nil || a.Type != "chat" {
					t.Fatalf("agent = %+v, err = %v; want a chat agent", a, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
			}
			if got := errors.Is(err, ErrNotChatAgent); got != tt.notChat {
				t.Errorf("errors.Is(err, ErrNotChatAgent) = %v, want %v", got, tt.notChat)
			}
			if tt.notChat && (a == nil || a.Title != "Painter") {
				t.Errorf("agent = %+v, want it returned with the warning", a)
			}
			if !tt.notChat && a != nil {
				t.Errorf("agent = %+v, want nil on failure", a)
			}
		})
	}
}
