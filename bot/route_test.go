package bot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tessbot/tessbot/tess"
	"github.com/tessbot/tessbot/threadstore"
)

const botUser = "U0BOT"

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		msg  message
		want action
	}{
		{"mention", message{Type: "app_mention", Channel: "C1", User: "U1", TS: "1.1", Text: "<@U0BOT> hi"}, answer},
		{"mention in thread", message{Type: "app_mention", Channel: "C1", User: "U1", TS: "1.2", ThreadTS: "1.1"}, answer},
		{"mention by a bot", message{Type: "app_mention", Channel: "C1", User: "U2", BotID: "B2", TS: "1.1"}, ignore},
		{"mention by this bot", message{Type: "app_mention", Channel: "C1", User: botUser, TS: "1.1"}, ignore},
		{"direct message", message{Type: "message", ChannelType: "im", Channel: "D1", User: "U1", TS: "1.1"}, answer},
		{"direct message with file", message{Type: "message", Subtype: "file_share", ChannelType: "im", Channel: "D1", User: "U1", TS: "1.1"}, answer},
		{"direct message with mention", message{Type: "message", ChannelType: "im", Channel: "D1", User: "U1", TS: "1.1", Text: "<@U0BOT> hi"}, answer},
		{"own message echo", message{Type: "message", ChannelType: "im", Channel: "D1", User: botUser, BotID: "B0BOT", TS: "1.1"}, ignore},
		{"bot message without user", message{Type: "message", Subtype: "bot_message", ChannelType: "channel", Channel: "C1", BotID: "B9", TS: "1.2", ThreadTS: "1.1"}, ignore},
		{"message without user", message{Type: "message", ChannelType: "im", Channel: "D1", TS: "1.1"}, ignore},
		{"message changed", message{Type: "message", Subtype: "message_changed", ChannelType: "im", Channel: "D1", User: "U1", TS: "1.1"}, ignore},
		{"message deleted", message{Type: "message", Subtype: "message_deleted", ChannelType: "im", Channel: "D1", TS: "1.1"}, ignore},
		{"channel join", message{Type: "message", Subtype: "channel_join", ChannelType: "channel", Channel: "C1", User: "U1", TS: "1.2", ThreadTS: "1.1"}, ignore},
		{"thread reply", message{Type: "message", ChannelType: "channel", Channel: "C1", User: "U1", TS: "1.2", ThreadTS: "1.1"}, answerIfEngaged},
		{"thread broadcast", message{Type: "message", Subtype: "thread_broadcast", ChannelType: "channel", Channel: "C1", User: "U1", TS: "1.2", ThreadTS: "1.1"}, answerIfEngaged},
		{"thread reply with file", message{Type: "message", Subtype: "file_share", ChannelType: "group", Channel: "G1", User: "U1", TS: "1.2", ThreadTS: "1.1"}, answerIfEngaged},
		{"thread reply with mention", message{Type: "message", ChannelType: "channel", Channel: "C1", User: "U1", TS: "1.2", ThreadTS: "1.1", Text: "<@U0BOT> more"}, ignore},
		{"thread reply mentioning a similar id", message{Type: "message", ChannelType: "channel", Channel: "C1", User: "U1", TS: "1.2", ThreadTS: "1.1", Text: "<@U0BOT2> more"}, answerIfEngaged},
		{"top-level channel message", message{Type: "message", ChannelType: "channel", Channel: "C1", User: "U1", TS: "1.1"}, ignore},
		{"thread root", message{Type: "message", ChannelType: "channel", Channel: "C1", User: "U1", TS: "1.1", ThreadTS: "1.1"}, ignore},
		{"no channel", message{Type: "app_mention", User: "U1", TS: "1.1"}, ignore},
		{"no ts", message{Type: "app_mention", Channel: "C1", User: "U1"}, ignore},
		{"other event type", message{Type: "reaction_added", Channel: "C1", User: "U1", TS: "1.1"}, ignore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := classify(tt.msg, botUser)
			if got != tt.want {
				t.Errorf("classify = %v (%s), want %v", got, reason, tt.want)
			}
			if reason == "" {
				t.Error("classify returned no reason")
			}
		})
	}
}

func TestStripMention(t *testing.T) {
	tests := []struct {
		name, text, want string
	}{
		{"leading", "<@U0BOT> summarize this", "summarize this"},
		{"trailing", "what is this? <@U0BOT>", "what is this?"},
		{"with label", "<@U0BOT|tessbot> hi", "hi"},
		{"twice", "<@U0BOT> a <@U0BOT> b", "a  b"},
		{"other user kept", "<@U0BOT> ask <@U7> too", "ask <@U7> too"},
		{"similar id kept", "<@U0BOT2> hi", "<@U0BOT2> hi"},
		{"only the mention", "  <@U0BOT>  ", ""},
		{"lines kept", "<@U0BOT> run\n```\ncode\n```", "run\n```\ncode\n```"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := stripMention(tt.text, botUser); got != tt.want {
				t.Errorf("stripMention(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestDecodeMessage(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    message
		wantErr bool
	}{
		{
			name: "mention in thread",
			payload: `{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1",
				"text":"<@U0BOT> hi","ts":"2.1","thread_ts":"1.1","channel":"C1"}}`,
			want: message{Type: "app_mention", User: "U1", Text: "<@U0BOT> hi", TS: "2.1", ThreadTS: "1.1", Channel: "C1", EventID: "Ev1"},
		},
		{
			name: "bot message without user",
			payload: `{"type":"event_callback","event_id":"Ev2","event":{"type":"message","subtype":"bot_message",
				"bot_id":"B9","username":"other","text":"hello","ts":"3.1","channel":"C1","channel_type":"channel"}}`,
			want: message{Type: "message", Subtype: "bot_message", BotID: "B9", Text: "hello", TS: "3.1", Channel: "C1", ChannelType: "channel", EventID: "Ev2"},
		},
		{
			name: "message changed by this bot",
			payload: `{"type":"event_callback","event_id":"Ev3","event":{"type":"message","subtype":"message_changed",
				"channel":"C1","channel_type":"channel","ts":"4.1","message":{"user":"U0BOT","bot_id":"B0BOT","text":"x","ts":"2.2"}}}`,
			want: message{Type: "message", Subtype: "message_changed", TS: "4.1", Channel: "C1", ChannelType: "channel", EventID: "Ev3"},
		},
		{name: "not json", payload: `{"type":`, wantErr: true},
		{name: "url verification", payload: `{"type":"url_verification","challenge":"x"}`, wantErr: true},
		{name: "no event", payload: `{"type":"event_callback","event_id":"Ev4"}`, wantErr: true},
		{name: "event of wrong shape", payload: `{"type":"event_callback","event":{"type":"message","text":7}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeMessage([]byte(tt.payload))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("decodeMessage succeeded with %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("decodeMessage: %v", err)
			}
			got.Files = nil
			if got.Type != tt.want.Type || got.Subtype != tt.want.Subtype || got.User != tt.want.User ||
				got.BotID != tt.want.BotID || got.Text != tt.want.Text || got.TS != tt.want.TS ||
				got.ThreadTS != tt.want.ThreadTS || got.Channel != tt.want.Channel ||
				got.ChannelType != tt.want.ChannelType || got.EventID != tt.want.EventID {
				t.Errorf("decodeMessage = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeMessageFiles(t *testing.T) {
	payload := `{"type":"event_callback","event":{"type":"message","subtype":"file_share","channel":"D1",
		"channel_type":"im","user":"U1","text":"","ts":"5.1","files":[{"id":"F1","name":"a.png"}]}}`
	m, err := decodeMessage([]byte(payload))
	if err != nil {
		t.Fatalf("decodeMessage: %v", err)
	}
	if len(m.Files) != 1 {
		t.Fatalf("files = %d, want 1", len(m.Files))
	}
	if !strings.Contains(string(m.Files[0]), `"F1"`) {
		t.Errorf("file = %s, want the raw object of F1", m.Files[0])
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"type":"event_callback","event_id":"Ev1","event":{"type":"app_mention","user":"U1","text":"<@U0BOT> hi","ts":"2.1","channel":"C1"}}`))
	f.Add([]byte(`{"type":"event_callback","event":{"type":"message","subtype":"message_changed","message":{"bot_id":"B1"}}}`))
	f.Add([]byte(`{"type":"event_callback","event":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := decodeMessage(payload)
		if err != nil {
			return
		}
		// Whatever decodes must classify without panicking, and a decoded message
		// without a channel or ts is never answered.
		act, _ := classify(m, botUser)
		if act != ignore && (m.Channel == "" || m.TS == "") {
			t.Errorf("classify answers %+v without channel or ts", m)
		}
		_ = json.Valid(payload)
	})
}

func TestThreadQueuesOrder(t *testing.T) {
	var mu sync.Mutex
	var got []string
	release := make(chan struct{})
	q := newThreadQueues(func(m message) {
		if m.TS == "1" {
			<-release // hold the first turn so that the others queue up behind it
		}
		mu.Lock()
		got = append(got, m.TS)
		mu.Unlock()
	})
	key := threadstore.ThreadKey{Channel: "C1", ThreadTS: "1"}
	for _, ts := range []string{"1", "2", "3", "4"} {
		q.push(key, message{TS: ts})
	}
	if !q.has(key) {
		t.Error("has = false while turns are queued")
	}
	close(release)
	q.wait()

	if strings.Join(got, ",") != "1,2,3,4" {
		t.Errorf("turns ran in order %v, want 1,2,3,4", got)
	}
	if q.has(key) {
		t.Error("has = true after the queue ran empty")
	}
	if n := q.active(); n != 0 {
		t.Errorf("active = %d after the queue ran empty, want 0", n)
	}
}

func TestThreadQueuesThreadsRunConcurrently(t *testing.T) {
	blocked := make(chan struct{})
	ranB := make(chan struct{})
	q := newThreadQueues(func(m message) {
		switch m.Channel {
		case "A":
			<-blocked
		case "B":
			close(ranB)
		}
	})
	q.push(threadstore.ThreadKey{Channel: "A", ThreadTS: "1"}, message{Channel: "A"})
	q.push(threadstore.ThreadKey{Channel: "B", ThreadTS: "1"}, message{Channel: "B"})

	select {
	case <-ranB:
	case <-time.After(10 * time.Second):
		t.Fatal("thread B waited for the blocked thread A")
	}
	// B's worker forgets its thread just after B's turn returns.
	deadline := time.Now().Add(10 * time.Second)
	for q.active() != 1 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := q.active(); n != 1 {
		t.Errorf("active = %d while A runs, want 1", n)
	}
	close(blocked)
	q.wait()
}

// seenStore is a store whose MarkSeen is scripted; every other method is unused.
type seenStore struct {
	threadstore.Store
	err   error
	first bool
	calls int
}

func (s *seenStore) MarkSeen(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	s.calls++
	return s.first, s.err
}

func TestSeenSet(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	ctx := context.Background()

	t.Run("store decides", func(t *testing.T) {
		s := newSeenSet(&seenStore{first: false}, time.Hour, log)
		if s.first(ctx, "msg:C1:1.1") {
			t.Error("first = true for an id the store has seen")
		}
	})
	t.Run("memory catches repeats", func(t *testing.T) {
		store := &seenStore{first: true}
		s := newSeenSet(store, time.Hour, log)
		if !s.first(ctx, "msg:C1:1.1") {
			t.Error("first = false for a new id")
		}
		if s.first(ctx, "msg:C1:1.1") {
			t.Error("first = true for a repeated id")
		}
		if store.calls != 1 {
			t.Errorf("store calls = %d, want 1", store.calls)
		}
	})
	t.Run("store failure falls back to memory", func(t *testing.T) {
		s := newSeenSet(&seenStore{err: errors.New("disk full")}, time.Hour, log)
		if !s.first(ctx, "msg:C1:1.1") {
			t.Error("first = false for a new id while the store fails")
		}
		if s.first(ctx, "msg:C1:1.1") {
			t.Error("first = true for a repeated id while the store fails")
		}
	})
	t.Run("memory entries expire", func(t *testing.T) {
		s := newSeenSet(&seenStore{first: true}, time.Hour, log)
		now := time.Now()
		if !s.firstLocal("a", now) {
			t.Fatal("firstLocal = false for a new id")
		}
		if !s.firstLocal("a", now.Add(2*time.Hour)) {
			t.Error("firstLocal = false after the ttl")
		}
	})
}

func TestWithNote(t *testing.T) {
	const note = "_note_"
	tests := []struct {
		name  string
		parts []string
		limit int
		want  []string
	}{
		{"no text", nil, 100, []string{note}},
		{"below text", []string{"a", "partial"}, 100, []string{"a", "partial\n\n" + note}},
		{"new part when full", []string{strings.Repeat("x", 95)}, 100, []string{strings.Repeat("x", 95), note}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := withNote(tt.parts, note, tt.limit)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("withNote = %q, want %q", got, tt.want)
			}
		})
	}

	t.Run("input kept", func(t *testing.T) {
		parts := []string{"a", "b"}
		withNote(parts, note, 100)
		if parts[1] != "b" {
			t.Errorf("withNote changed its input to %q", parts)
		}
	})
}

func TestVisibleParts(t *testing.T) {
	if got := visibleParts([]string{"a", " ", ""}); len(got) != 1 || got[0] != "a" {
		t.Errorf("visibleParts = %q, want [a]", got)
	}
	if got := visibleParts([]string{""}); got != nil && len(got) != 0 {
		t.Errorf("visibleParts of an empty part = %q, want none", got)
	}
}

func TestFailureNote(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		contains string
		absent   string
	}{
		{"shutdown", context.Canceled, "restarted", ""},
		{"rejected key", &tess.APIError{Method: "POST", Path: "/agents/1/execute", StatusCode: 401}, "API key was rejected", ""},
		{"markup escaped", &tess.ExecutionError{Status: "failed", Message: "<!channel> & co"}, "&lt;!channel&gt; &amp; co", "<!channel>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := failureNote(tt.err)
			if !strings.Contains(got, tt.contains) {
				t.Errorf("failureNote = %q, want it to contain %q", got, tt.contains)
			}
			if tt.absent != "" && strings.Contains(got, tt.absent) {
				t.Errorf("failureNote = %q contains %q", got, tt.absent)
			}
		})
	}
}
