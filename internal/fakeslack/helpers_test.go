package fakeslack

import (
	"context"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// waitTimeout bounds every wait in these tests. Waits end as soon as their condition holds.
const waitTimeout = 10 * time.Second

// newClient returns a slack-go client pointed at fake, as the bot builds it.
func newClient(fake *Server) *slack.Client {
	return slack.New(fake.BotToken(), slack.OptionAppLevelToken(fake.AppToken()), slack.OptionAPIURL(fake.APIURL()))
}

// dialSocket opens a Socket Mode connection to fake with a raw WebSocket client, closed
// when t ends. It returns the connection and the URL that it dialled.
func dialSocket(t *testing.T, fake *Server) (*websocket.Conn, string) {
	t.Helper()
	_, wsURL, err := newClient(fake).StartSocketModeContext(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial(wsURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws, wsURL
}

// testBot is a slack-go Socket Mode client connected to a fake. It acks every envelope
// when autoAck is set and forwards every event to events.
type testBot struct {
	api    *slack.Client
	sm     *socketmode.Client
	events chan socketmode.Event
}

func startBot(t *testing.T, fake *Server, autoAck bool) *testBot {
	t.Helper()
	api := newClient(fake)
	b := &testBot{api: api, sm: socketmode.New(api), events: make(chan socketmode.Event, 256)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.sm.RunContext(ctx)
	}()
	go b.drain(ctx, autoAck)
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return b
}

func (b *testBot) drain(ctx context.Context, autoAck bool) {
	for {
		select {
		case <-ctx.Done():
			return
		case evt := <-b.sm.Events:
			if autoAck && evt.Request != nil && evt.Request.EnvelopeID != "" {
				_ = b.sm.Ack(*evt.Request)
			}
			select {
			case b.events <- evt:
			case <-ctx.Done():
				return
			}
		}
	}
}

// next returns the next event of type kind, skipping other types.
func (b *testBot) next(t *testing.T, kind socketmode.EventType) socketmode.Event {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case evt := <-b.events:
			if evt.Type == kind {
				return evt
			}
		case <-deadline:
			t.Fatalf("no %s event within %v", kind, waitTimeout)
		}
	}
}
