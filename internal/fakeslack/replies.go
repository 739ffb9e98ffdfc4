package fakeslack

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Seed stores a message from someone other than the bot without sending an event, so that
// conversations.replies and Messages return it. It fills TS when empty and returns it.
func (s *Server) Seed(m Msg) string {
	stored := s.storeMsg(m)
	return stored.TS
}

// storeMsg stores m as a new message unless its ts is taken and returns the message with
// its ts filled.
func (s *Server) storeMsg(m Msg) Msg {
	if m.TS == "" {
		m.TS = s.clock.next()
	}
	s.mu.Lock()
	s.storeLocked(&Message{
		Channel:  m.Channel,
		TS:       m.TS,
		ThreadTS: m.ThreadTS,
		User:     m.User,
		BotID:    m.BotID,
		Username: m.Username,
		Subtype:  m.Subtype,
		Text:     m.Text,
		Files:    m.Files,
		Versions: []Version{{Text: m.Text}},
	})
	s.mu.Unlock()
	return m
}

// conversationsReplies serves a thread from stored messages with limit, cursor, oldest,
// latest and inclusive. A ts inside a thread selects its whole thread.
func (s *Server) conversationsReplies(req *apiRequest) (object, string) {
	channelID, ts := req.form.Get("channel"), req.form.Get("ts")
	limit := s.cfg.repliesLimit
	if n, err := strconv.Atoi(req.form.Get("limit")); err == nil && n > 0 && n < limit {
		limit = n
	}
	after := ""
	if cursor := req.form.Get("cursor"); cursor != "" {
		var ok bool
		if after, ok = decodeCursor(cursor); !ok {
			return nil, "invalid_cursor"
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channelID]
	if !ok {
		return nil, "channel_not_found"
	}
	if m, ok := ch.byTS[ts]; ok && m.isReply() {
		ts = m.ThreadTS
	}
	all := s.threadLocked(channelID, ts)
	if len(all) == 0 {
		return nil, "thread_not_found"
	}
	bounds := tsBounds{oldest: req.form.Get("oldest"), latest: req.form.Get("latest"),
		inclusive: req.form.Get("inclusive") == "1" || req.form.Get("inclusive") == "true"}
	var page []object
	next := ""
	for _, m := range all {
		if m.Deleted || !bounds.contains(m.TS) || (after != "" && compareTS(m.TS, after) < 0) {
			continue
		}
		if len(page) == limit {
			next = m.TS
			break
		}
		page = append(page, s.historyJSON(ch, m))
	}
	out := object{"messages": page, "has_more": next != ""}
	if next != "" {
		out["response_metadata"] = object{"next_cursor": encodeCursor(next)}
	}
	return out, ""
}

// historyJSON is messageJSON plus the thread fields Slack adds to a thread's root.
func (s *Server) historyJSON(ch *channel, m *Message) object {
	out := s.messageJSON(m)
	if replies := ch.replies[m.TS]; len(replies) > 0 && !m.isReply() {
		out["thread_ts"] = m.TS
		out["reply_count"] = len(replies)
		out["latest_reply"] = replies[len(replies)-1].TS
	}
	return out
}

type tsBounds struct {
	oldest, latest string
	inclusive      bool
}

func (b tsBounds) contains(ts string) bool {
	if b.oldest != "" {
		if c := compareTS(ts, b.oldest); c < 0 || (c == 0 && !b.inclusive) {
			return false
		}
	}
	if b.latest != "" {
		if c := compareTS(ts, b.latest); c > 0 || (c == 0 && !b.inclusive) {
			return false
		}
	}
	return true
}

// encodeCursor writes the ts of the next page's first message as Slack-style cursor text.
func encodeCursor(ts string) string {
	return base64.StdEncoding.EncodeToString([]byte("next_ts:" + ts))
}

func decodeCursor(cursor string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(cursor)
	if err != nil {
		return "", false
	}
	ts, ok := strings.CutPrefix(string(raw), "next_ts:")
	if !ok {
		return "", false
	}
	_, valid := parseTS(ts)
	return ts, valid
}
