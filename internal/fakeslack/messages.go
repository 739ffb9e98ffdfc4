package fakeslack

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Message is a message as the fake stores it: its current content and every version.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string
	User     string
	BotID    string
	Username string
	Subtype  string
	// Text, Blocks and MarkdownText are the current content. Blocks is the JSON array as
	// sent, or "" without blocks.
	Text         string
	Blocks       string
	MarkdownText string
	Files        []json.RawMessage
	Deleted      bool
	// Versions contains the posted content first and then one entry per chat.update.
	Versions []Version
}

// Version is the content of a message at one point in time.
type Version struct {
	Text         string
	Blocks       string
	MarkdownText string
	At           time.Time
}

// Edits returns the number of chat.update calls the message went through.
func (m Message) Edits() int { return max(0, len(m.Versions)-1) }

// VisibleText returns the text a reader of the message is shown: markdown_text when set,
// else the text of the markdown, section and header blocks joined by newlines, else text.
func (m Message) VisibleText() string {
	if m.MarkdownText != "" {
		return m.MarkdownText
	}
	if text := blocksText(m.Blocks); text != "" {
		return text
	}
	return m.Text
}

func (m *Message) clone() Message {
	c := *m
	c.Files = slices.Clone(m.Files)
	c.Versions = slices.Clone(m.Versions)
	return c
}

// isReply reports whether m sits inside a thread rather than at its top.
func (m *Message) isReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// channel stores the messages of one conversation in ts order.
type channel struct {
	messages []*Message
	byTS     map[string]*Message
	replies  map[string][]*Message // thread root ts → replies in ts order
}

func (s *Server) channelLocked(id string) *channel {
	ch, ok := s.channels[id]
	if !ok {
		ch = &channel{byTS: make(map[string]*Message), replies: make(map[string][]*Message)}
		s.channels[id] = ch
	}
	return ch
}

// storeLocked adds m unless a message with its ts exists, and reports whether it added it.
func (s *Server) storeLocked(m *Message) bool {
	ch := s.channelLocked(m.Channel)
	if _, ok := ch.byTS[m.TS]; ok {
		return false
	}
	ch.byTS[m.TS] = m
	ch.messages = insertByTS(ch.messages, m)
	if m.isReply() {
		ch.replies[m.ThreadTS] = insertByTS(ch.replies[m.ThreadTS], m)
	}
	s.clock.observe(m.TS)
	s.notifyLocked()
	return true
}

// insertByTS appends m and keeps list sorted. Appends in ts order cost O(1).
func insertByTS(list []*Message, m *Message) []*Message {
	list = append(list, m)
	n := len(list)
	if n > 1 && compareTS(list[n-2].TS, m.TS) > 0 {
		slices.SortStableFunc(list, func(a, b *Message) int { return compareTS(a.TS, b.TS) })
	}
	return list
}

// Messages returns the visible messages of channel in ts order, thread replies included.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, ok := s.channels[channel]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(ch.messages))
	for _, m := range ch.messages {
		if !m.Deleted {
			out = append(out, m.clone())
		}
	}
	return out
}

// BotMessages returns the visible messages the bot posted in channel, in ts order.
func (s *Server) BotMessages(channel string) []Message {
	var out []Message
	for _, m := range s.Messages(channel) {
		if m.User == s.cfg.botUserID && m.BotID == s.cfg.botID {
			out = append(out, m)
		}
	}
	return out
}

// Message returns the message at ts in channel, deleted or not.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch, ok := s.channels[channel]; ok {
		if m, ok := ch.byTS[ts]; ok {
			return m.clone(), true
		}
	}
	return Message{}, false
}

// Thread returns the visible messages of the thread rooted at threadTS: the root when it is
// stored, then the replies in ts order.
func (s *Server) Thread(channel, threadTS string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.threadLocked(channel, threadTS) {
		if !m.Deleted {
			out = append(out, m.clone())
		}
	}
	return out
}

func (s *Server) threadLocked(channel, threadTS string) []*Message {
	ch, ok := s.channels[channel]
	if !ok {
		return nil
	}
	var out []*Message
	if root, ok := ch.byTS[threadTS]; ok {
		out = append(out, root)
	}
	return append(out, ch.replies[threadTS]...)
}

// tsClock issues message timestamps: microseconds since the epoch written as
// "seconds.micros", strictly increasing across the whole server and later than every ts
// the server has stored.
type tsClock struct{ last atomic.Int64 }

func (c *tsClock) next() string {
	for {
		last := c.last.Load()
		n := max(time.Now().UnixMicro(), last+1)
		if c.last.CompareAndSwap(last, n) {
			return formatTS(n)
		}
	}
}

// observe moves the clock past ts so that later timestamps sort after it.
func (c *tsClock) observe(ts string) {
	micros, ok := parseTS(ts)
	if !ok {
		return
	}
	for {
		last := c.last.Load()
		if micros <= last || c.last.CompareAndSwap(last, micros) {
			return
		}
	}
}

// NewTS returns a fresh message timestamp, later than every one issued or stored so far.
func (s *Server) NewTS() string { return s.clock.next() }

func formatTS(micros int64) string {
	return fmt.Sprintf("%d.%06d", micros/1e6, micros%1e6)
}

// parseTS reads "seconds.fraction" with up to six fraction digits as microseconds.
func parseTS(ts string) (int64, bool) {
	secText, fracText, _ := strings.Cut(ts, ".")
	sec, err := strconv.ParseInt(secText, 10, 64)
	if err != nil || sec < 0 || len(fracText) > 6 || sec > 1<<40 {
		return 0, false
	}
	var frac int64
	if fracText != "" {
		frac, err = strconv.ParseInt(fracText, 10, 64)
		if err != nil || frac < 0 {
			return 0, false
		}
		for range 6 - len(fracText) {
			frac *= 10
		}
	}
	return sec*1e6 + frac, true
}

// compareTS orders timestamps by time, and by text when one does not parse.
func compareTS(a, b string) int {
	x, okA := parseTS(a)
	y, okB := parseTS(b)
	if !okA || !okB {
		return strings.Compare(a, b)
	}
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
