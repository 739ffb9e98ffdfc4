package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack/socketmode"
)

// incomingBuffer is how many acked messages may wait for routing. The socket reader
// blocks, and stops acking, only when this many are waiting.
const incomingBuffer = 1024

// ackTimeout bounds one ack. slack-go queues acks for the connection's writer, which
// does not run while the client reconnects.
const ackTimeout = 3 * time.Second

// message is the part of an app_mention or message event that the bot routes on.
type message struct {
	Type        string            `json:"type"`
	Subtype     string            `json:"subtype"`
	Channel     string            `json:"channel"`
	ChannelType string            `json:"channel_type"`
	User        string            `json:"user"`
	BotID       string            `json:"bot_id"`
	Text        string            `json:"text"`
	TS          string            `json:"ts"`
	ThreadTS    string            `json:"thread_ts"`
	Files       []json.RawMessage `json:"files"`

	// From the envelope.
	EventID      string `json:"-"`
	RetryAttempt int    `json:"-"`
}

// threadTS returns the ts of the thread the bot replies in: the thread of m, or m itself
// when m is a top-level message.
func (m message) threadTS() string {
	if m.ThreadTS != "" {
		return m.ThreadTS
	}
	return m.TS
}

// decodeMessage reads the inner event of an events_api envelope payload.
func decodeMessage(payload []byte) (message, error) {
	var callback struct {
		Type    string          `json:"type"`
		EventID string          `json:"event_id"`
		Event   json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(payload, &callback); err != nil {
		return message{}, fmt.Errorf("decode events_api payload: %w", err)
	}
	if callback.Type != "event_callback" {
		return message{}, fmt.Errorf("unexpected events_api payload type %q", callback.Type)
	}
	if len(callback.Event) == 0 {
		return message{}, errors.New("events_api payload without event")
	}

	var m message
	if err := json.Unmarshal(callback.Event, &m); err != nil {
		return message{}, fmt.Errorf("decode event: %w", err)
	}
	m.EventID = callback.EventID
	return m, nil
}

// readEvents acks every envelope and passes the decoded messages to incoming. It returns
// nil when ctx is done and an error when the Socket Mode client stops on its own.
func (b *bot) readEvents(ctx context.Context, sm *socketmode.Client, socketDone <-chan error, incoming chan<- message) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-socketDone:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("socket mode stopped: %w", withTokenHint(err, "SLACK_APP_TOKEN"))
		case evt := <-sm.Events:
			b.handleSocketEvent(ctx, sm, evt, incoming)
		}
	}
}

// handleSocketEvent acks evt first, then decodes it. Only app_mention and message events
// reach incoming.
func (b *bot) handleSocketEvent(ctx context.Context, sm *socketmode.Client, evt socketmode.Event, incoming chan<- message) {
	switch evt.Type {
	case socketmode.EventTypeConnecting:
		b.socketUp.Store(false)
		b.log.Debug("socket mode connecting")
	case socketmode.EventTypeConnected:
		b.socketUp.Store(true)
		b.log.Info("socket mode connected")
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorWriteFailed:
		b.log.Warn("socket mode connection problem", "type", evt.Type, "err", evt.Data)
	case socketmode.EventTypeInvalidAuth:
		b.socketUp.Store(false)
		b.log.Error("socket mode rejected SLACK_APP_TOKEN")
	case socketmode.EventTypeErrorBadMessage:
		b.ackBadMessage(ctx, sm, evt)
	case socketmode.EventTypeEventsAPI:
		b.ack(ctx, sm, evt.Request)
		b.enqueue(evt.Request, incoming)
	case socketmode.EventTypeInteractive:
		b.ack(ctx, sm, evt.Request)
		b.metrics.EventReceived("interactive")
		b.handleInteractive(evt)
	case socketmode.EventTypeSlashCommand:
		b.ack(ctx, sm, evt.Request)
		b.log.Debug("envelope ignored", "type", evt.Type)
	}
}

func (b *bot) ack(ctx context.Context, sm *socketmode.Client, req *socketmode.Request) {
	if req == nil || req.EnvelopeID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, ackTimeout)
	defer cancel()
	if err := sm.AckCtx(ctx, req.EnvelopeID, nil); err != nil {
		b.log.Warn("ack failed", "envelope_id", req.EnvelopeID, "err", err)
	}
}

// ackBadMessage acks an envelope that slack-go could not parse (for example an event type
// it does not know), so that Slack does not deliver it again and again.
func (b *bot) ackBadMessage(ctx context.Context, sm *socketmode.Client, evt socketmode.Event) {
	bad, ok := evt.Data.(*socketmode.ErrorBadMessage)
	if !ok {
		return
	}
	var req socketmode.Request
	if err := json.Unmarshal(bad.Message, &req); err == nil {
		b.ack(ctx, sm, &req)
	}
	b.log.Warn("unreadable envelope", "envelope_id", req.EnvelopeID, "err", bad.Cause)
}

// enqueue decodes an events_api envelope and hands the message to the router.
func (b *bot) enqueue(req *socketmode.Request, incoming chan<- message) {
	if req == nil {
		return
	}
	m, err := decodeMessage(req.Payload)
	if err != nil {
		b.log.Warn("unreadable event", "envelope_id", req.EnvelopeID, "err", err)
		return
	}
	b.metrics.EventReceived(m.Type)
	if m.Type != "app_mention" && m.Type != "message" {
		b.log.Debug("event ignored", "type", m.Type)
		return
	}
	m.RetryAttempt = req.RetryAttempt
	incoming <- m
}
