package fakeslack

import (
	"encoding/json"
	"net/url"
	"time"
	"unicode/utf8"
)

// Ephemeral is a message posted with chat.postEphemeral, visible to User only.
type Ephemeral struct {
	Channel  string
	User     string
	TS       string
	ThreadTS string
	Text     string
	Blocks   string
	At       time.Time
}

// Status is one assistant.threads.setStatus call.
type Status struct {
	Channel         string
	ThreadTS        string
	Status          string
	LoadingMessages string
	At              time.Time
}

// content holds the text fields of a chat.postMessage or chat.update request.
type content struct {
	form url.Values
}

func (c content) text() string     { return c.form.Get("text") }
func (c content) blocks() string   { return c.form.Get("blocks") }
func (c content) markdown() string { return c.form.Get("markdown_text") }

// check returns the Slack error code for content that Slack would reject, or "".
func (c content) check(textLimit int) string {
	blocksSet := hasBlocks(c.blocks())
	switch {
	case c.markdown() != "" && (c.text() != "" || blocksSet):
		return "markdown_text_conflict"
	case c.text() == "" && c.markdown() == "" && !blocksSet:
		return "no_text"
	case utf8.RuneCountInString(c.text()) > textLimit:
		return "msg_too_long"
	case utf8.RuneCountInString(c.markdown()) > DefaultMarkdownLimit:
		// NOTE: the error Slack returns for markdown_text over 12,000 characters is not
		// documented, so msg_too_long is a guess.
		return "msg_too_long"
	case c.form.Has("blocks") && c.blocks() != "":
		return checkBlocks(c.blocks())
	}
	return ""
}

func (s *Server) authTest(*apiRequest) (object, string) {
	return object{
		"url":                   "https://fakeslack.slack.com/",
		"team":                  "fakeslack",
		"user":                  "bot",
		"team_id":               s.cfg.teamID,
		"user_id":               s.cfg.botUserID,
		"bot_id":                s.cfg.botID,
		"is_enterprise_install": false,
	}, ""
}

func (s *Server) postMessage(req *apiRequest) (object, string) {
	channelID := req.form.Get("channel")
	if channelID == "" {
		return nil, "channel_not_found"
	}
	c := content{form: req.form}
	if code := c.check(s.cfg.postTextLimit); code != "" {
		return nil, code
	}
	m := &Message{
		Channel:      channelID,
		TS:           s.clock.next(),
		ThreadTS:     req.form.Get("thread_ts"),
		User:         s.cfg.botUserID,
		BotID:        s.cfg.botID,
		Text:         c.text(),
		Blocks:       c.blocks(),
		MarkdownText: c.markdown(),
		Versions:     []Version{{Text: c.text(), Blocks: c.blocks(), MarkdownText: c.markdown(), At: req.at}},
	}
	s.mu.Lock()
	s.storeLocked(m)
	body := s.messageJSON(m)
	s.mu.Unlock()

	if s.echo.Load() {
		s.echoPosted(body, channelID)
	}
	return object{"channel": channelID, "ts": m.TS, "message": body}, ""
}

func (s *Server) updateMessage(req *apiRequest) (object, string) {
	channelID, ts := req.form.Get("channel"), req.form.Get("ts")
	c := content{form: req.form}
	if code := c.check(s.cfg.updateTextLimit); code != "" {
		return nil, code
	}
	s.mu.Lock()
	m, code := s.ownMessageLocked(channelID, ts, "cant_update_message")
	if code != "" {
		s.mu.Unlock()
		return nil, code
	}
	echo := s.echo.Load()
	var previous object
	if echo {
		previous = s.messageJSON(m)
	}
	if c.markdown() != "" {
		m.MarkdownText, m.Text, m.Blocks = c.markdown(), "", ""
	} else {
		m.MarkdownText = ""
		if req.form.Has("text") {
			m.Text = c.text()
		}
		if req.form.Has("blocks") {
			m.Blocks = c.blocks()
		}
	}
	m.Versions = append(m.Versions, Version{Text: m.Text, Blocks: m.Blocks, MarkdownText: m.MarkdownText, At: req.at})
	current := s.messageJSON(m)
	s.notifyLocked()
	s.mu.Unlock()

	if echo {
		s.echoChanged(channelID, current, previous)
	}
	return object{"channel": channelID, "ts": ts, "text": current["text"], "message": current}, ""
}

func (s *Server) deleteMessage(req *apiRequest) (object, string) {
	channelID, ts := req.form.Get("channel"), req.form.Get("ts")
	s.mu.Lock()
	m, code := s.ownMessageLocked(channelID, ts, "cant_delete_message")
	if code != "" {
		s.mu.Unlock()
		return nil, code
	}
	m.Deleted = true
	previous := s.messageJSON(m)
	s.notifyLocked()
	s.mu.Unlock()

	if s.echo.Load() {
		s.echoDeleted(channelID, ts, previous)
	}
	return object{"channel": channelID, "ts": ts}, ""
}

// ownMessageLocked returns the live message at ts. It returns message_not_found for a
// missing or deleted message and notOwn for one posted by someone other than the bot.
func (s *Server) ownMessageLocked(channelID, ts, notOwn string) (*Message, string) {
	ch, ok := s.channels[channelID]
	if !ok {
		return nil, "message_not_found"
	}
	m, ok := ch.byTS[ts]
	if !ok || m.Deleted {
		return nil, "message_not_found"
	}
	if m.User != s.cfg.botUserID {
		return nil, notOwn
	}
	return m, ""
}

func (s *Server) postEphemeral(req *apiRequest) (object, string) {
	channelID, user := req.form.Get("channel"), req.form.Get("user")
	if channelID == "" {
		return nil, "channel_not_found"
	}
	if user == "" {
		return nil, "user_not_in_channel"
	}
	c := content{form: req.form}
	if code := c.check(s.cfg.postTextLimit); code != "" {
		return nil, code
	}
	e := Ephemeral{
		Channel:  channelID,
		User:     user,
		TS:       s.clock.next(),
		ThreadTS: req.form.Get("thread_ts"),
		Text:     c.text(),
		Blocks:   c.blocks(),
		At:       req.at,
	}
	s.mu.Lock()
	s.ephemera = append(s.ephemera, e)
	s.notifyLocked()
	s.mu.Unlock()
	return object{"message_ts": e.TS}, ""
}

func (s *Server) setStatus(req *apiRequest) (object, string) {
	st := Status{
		Channel:         req.form.Get("channel_id"),
		ThreadTS:        req.form.Get("thread_ts"),
		Status:          req.form.Get("status"),
		LoadingMessages: req.form.Get("loading_messages"),
		At:              req.at,
	}
	if st.Channel == "" || st.ThreadTS == "" {
		return nil, "invalid_arguments"
	}
	s.mu.Lock()
	s.statuses = append(s.statuses, st)
	s.notifyLocked()
	s.mu.Unlock()
	return object{}, ""
}

// Ephemerals returns the ephemeral messages posted in channel, oldest first.
func (s *Server) Ephemerals(channel string) []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Ephemeral
	for _, e := range s.ephemera {
		if e.Channel == channel {
			out = append(out, e)
		}
	}
	return out
}

// Statuses returns the assistant thread statuses set for the thread, oldest first.
func (s *Server) Statuses(channel, threadTS string) []Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Status
	for _, st := range s.statuses {
		if st.Channel == channel && st.ThreadTS == threadTS {
			out = append(out, st)
		}
	}
	return out
}

// messageJSON returns m as Slack writes a message object in responses, history and events.
// The caller holds s.mu.
func (s *Server) messageJSON(m *Message) object {
	out := object{"type": "message", "text": m.Text, "ts": m.TS}
	setIf(out, "user", m.User)
	setIf(out, "bot_id", m.BotID)
	setIf(out, "username", m.Username)
	setIf(out, "subtype", m.Subtype)
	setIf(out, "thread_ts", m.ThreadTS)
	if m.BotID == s.cfg.botID {
		out["app_id"] = s.cfg.appID
	}
	if m.User != "" {
		out["team"] = s.cfg.teamID
	}
	if m.Blocks != "" && json.Valid([]byte(m.Blocks)) {
		out["blocks"] = json.RawMessage(m.Blocks)
	}
	if m.MarkdownText != "" {
		out["blocks"] = []object{{"type": "markdown", "text": m.MarkdownText}}
	}
	if len(m.Files) > 0 {
		out["files"] = m.Files
		out["upload"] = false
	}
	if n := len(m.Versions); n > 1 {
		out["edited"] = object{"user": m.User, "ts": formatTS(m.Versions[n-1].At.UnixMicro())}
	}
	return out
}

func setIf(out object, key, value string) {
	if value != "" {
		out[key] = value
	}
}
