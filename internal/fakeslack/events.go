package fakeslack

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Envelope is one Socket Mode envelope as Slack writes it on the WebSocket.
type Envelope struct {
	Type                   string          `json:"type"`
	EnvelopeID             string          `json:"envelope_id"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
	// EventID is the payload's event_id, or "" for an interactive envelope.
	EventID string `json:"-"`
}

// Msg describes a message that a user or another bot sends, for Seed and the event
// helpers. Empty fields are left out of the JSON.
type Msg struct {
	Channel string
	// ChannelType is "channel", "group", "im" or "mpim". When empty it follows the channel
	// id: D… is im, G… is group, anything else is channel.
	ChannelType string
	User        string
	BotID       string
	Username    string
	Subtype     string
	Text        string
	// TS is filled with NewTS when empty.
	TS       string
	ThreadTS string
	Files    []json.RawMessage
}

// Mention builds an app_mention event from user in channel and stores the message, so the
// thread history contains it. ts is filled with NewTS when empty, and threadTS is "" for a
// top-level message. Real mentions contain "<@BOTUSERID>" in text, but Mention sends text
// as is.
func (s *Server) Mention(channel, user, text, ts, threadTS string, files ...json.RawMessage) Envelope {
	m := s.storeMsg(Msg{Channel: channel, User: user, Text: text, TS: ts, ThreadTS: threadTS, Files: files})
	event := object{
		"type":          "app_mention",
		"user":          user,
		"text":          text,
		"ts":            m.TS,
		"channel":       channel,
		"event_ts":      m.TS,
		"team":          s.cfg.teamID,
		"client_msg_id": s.newUUID(),
	}
	setIf(event, "thread_ts", threadTS)
	if len(files) > 0 {
		event["files"] = files
		event["upload"] = false
	}
	return s.eventEnvelope(event, m.TS)
}

// MessageEvent builds a message event from m. New messages (no subtype, file_share,
// bot_message, thread_broadcast) are stored as well.
func (s *Server) MessageEvent(m Msg) Envelope {
	switch m.Subtype {
	case "", "file_share", "bot_message", "thread_broadcast":
		m = s.storeMsg(m)
	default:
		if m.TS == "" {
			m.TS = s.clock.next()
		}
	}
	event := msgJSON(m, s.cfg.teamID)
	event["channel"] = m.Channel
	event["channel_type"] = channelType(m)
	event["event_ts"] = m.TS
	if m.User != "" && m.Subtype == "" {
		event["client_msg_id"] = s.newUUID()
	}
	return s.eventEnvelope(event, m.TS)
}

// DM builds a message event in the direct-message channel from user. With files it has
// subtype file_share.
func (s *Server) DM(channel, user, text, ts, threadTS string, files ...json.RawMessage) Envelope {
	return s.MessageEvent(userMsg(channel, "im", user, text, ts, threadTS, files))
}

// ChannelMessage builds a message event in a public channel from user. With files it has
// subtype file_share.
func (s *Server) ChannelMessage(channel, user, text, ts, threadTS string, files ...json.RawMessage) Envelope {
	return s.MessageEvent(userMsg(channel, "channel", user, text, ts, threadTS, files))
}

func userMsg(channel, kind, user, text, ts, threadTS string, files []json.RawMessage) Msg {
	m := Msg{Channel: channel, ChannelType: kind, User: user, Text: text, TS: ts, ThreadTS: threadTS, Files: files}
	if len(files) > 0 {
		m.Subtype = "file_share"
	}
	return m
}

// BotMessage builds a bot_message event from another bot: bot_id and username, no user.
func (s *Server) BotMessage(channel, botID, username, text, ts, threadTS string) Envelope {
	return s.MessageEvent(Msg{Channel: channel, BotID: botID, Username: username, Subtype: "bot_message",
		Text: text, TS: ts, ThreadTS: threadTS})
}

// MessageChanged builds a message_changed event whose message is current and whose
// previous_message is previous. Both need TS. A stored message at current.TS gets current's
// text as a new version.
func (s *Server) MessageChanged(channel string, current, previous Msg) Envelope {
	s.mu.Lock()
	if ch, ok := s.channels[channel]; ok {
		if m, ok := ch.byTS[current.TS]; ok {
			m.Text, m.Blocks, m.MarkdownText = current.Text, "", ""
			m.Versions = append(m.Versions, Version{Text: current.Text, At: time.Now()})
			s.notifyLocked()
		}
	}
	s.mu.Unlock()

	message := msgJSON(current, s.cfg.teamID)
	message["edited"] = object{"user": current.User, "ts": s.clock.next()}
	return s.changeEnvelope(channel, channelType(Msg{Channel: channel}), object{
		"subtype":          "message_changed",
		"message":          message,
		"previous_message": msgJSON(previous, s.cfg.teamID),
	})
}

// MessageDeleted builds a message_deleted event for deletedTS and marks a stored message at
// that ts deleted.
func (s *Server) MessageDeleted(channel, deletedTS string, previous Msg) Envelope {
	s.mu.Lock()
	if ch, ok := s.channels[channel]; ok {
		if m, ok := ch.byTS[deletedTS]; ok {
			m.Deleted = true
			s.notifyLocked()
		}
	}
	s.mu.Unlock()

	if previous.TS == "" {
		previous.TS = deletedTS
	}
	return s.changeEnvelope(channel, channelType(Msg{Channel: channel}), object{
		"subtype":          "message_deleted",
		"deleted_ts":       deletedTS,
		"previous_message": msgJSON(previous, s.cfg.teamID),
	})
}

// changeEnvelope wraps the hidden message event of an edit or deletion: such events carry a
// ts of their own.
func (s *Server) changeEnvelope(channel, kind string, fields object) Envelope {
	ts := s.clock.next()
	event := object{"type": "message", "hidden": true, "channel": channel, "channel_type": kind,
		"ts": ts, "event_ts": ts}
	for key, value := range fields {
		event[key] = value
	}
	return s.eventEnvelope(event, ts)
}

// Redelivery returns env as Slack sends it again after a missing ack: a new envelope id,
// the same payload and event_id, retry_attempt set to attempt and retry_reason "timeout".
// NOTE: the retry_reason strings Slack uses in Socket Mode are not documented, so "timeout"
// follows the HTTP Events API.
func (s *Server) Redelivery(env Envelope, attempt int) Envelope {
	env.EnvelopeID = s.newEnvelopeID()
	env.RetryAttempt = attempt
	env.RetryReason = "timeout"
	return env
}

// Redeliver sends Redelivery(env, attempt) and returns its envelope id.
func (s *Server) Redeliver(env Envelope, attempt int) string {
	return s.Send(s.Redelivery(env, attempt))
}

// eventEnvelope wraps an inner event in an event_callback payload and an events_api
// envelope.
func (s *Server) eventEnvelope(event object, eventTS string) Envelope {
	eventID := "Ev" + strings.ToUpper(strconv.FormatInt(1e12+s.nextID(), 36))
	eventTime := time.Now().Unix()
	if micros, ok := parseTS(eventTS); ok {
		eventTime = micros / 1e6
	}
	payload := object{
		"token":           "fakeslack-verification-token",
		"team_id":         s.cfg.teamID,
		"context_team_id": s.cfg.teamID,
		"api_app_id":      s.cfg.appID,
		"event":           event,
		"type":            "event_callback",
		"event_id":        eventID,
		"event_time":      eventTime,
		"authorizations": []object{{
			"enterprise_id":         nil,
			"team_id":               s.cfg.teamID,
			"user_id":               s.cfg.botUserID,
			"is_bot":                true,
			"is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-fakeslack-" + eventID,
	}
	return Envelope{Type: "events_api", EnvelopeID: s.newEnvelopeID(), Payload: mustJSON(payload), EventID: eventID}
}

// msgJSON writes m as a message object inside an event.
func msgJSON(m Msg, teamID string) object {
	out := object{"type": "message", "text": m.Text, "ts": m.TS}
	setIf(out, "user", m.User)
	setIf(out, "bot_id", m.BotID)
	setIf(out, "username", m.Username)
	setIf(out, "subtype", m.Subtype)
	setIf(out, "thread_ts", m.ThreadTS)
	if m.User != "" {
		out["team"] = teamID
	}
	if len(m.Files) > 0 {
		out["files"] = m.Files
		out["upload"] = false
	}
	return out
}

func channelType(m Msg) string {
	if m.ChannelType != "" {
		return m.ChannelType
	}
	switch {
	case strings.HasPrefix(m.Channel, "D"):
		return "im"
	case strings.HasPrefix(m.Channel, "G"):
		return "group"
	}
	return "channel"
}

func (s *Server) newEnvelopeID() string {
	return fmt.Sprintf("%08x-fa4e-4000-8000-%012x", time.Now().Unix(), s.nextID())
}

func (s *Server) newUUID() string {
	return fmt.Sprintf("%08x-c115-4000-8000-%012x", time.Now().Unix(), s.nextID())
}

func mustJSON(v any) json.RawMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("fakeslack: encoding JSON failed: %v", err))
	}
	return data
}
