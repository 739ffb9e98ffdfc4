package scheduler

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// sync copies the newest text written by Set or Finish into the messages of r.
func (r *Reply) sync(s *Scheduler) {
	s.mu.Lock()
	want, finished, version := r.want, r.finished, r.version
	s.mu.Unlock()

	if r.closed {
		return
	}
	if !r.isActive {
		r.isActive = true
		s.active = append(s.active, r)
		s.channel(r.channel).replies++
	}
	if version == r.synced {
		return
	}
	r.synced = version
	r.apply(s, want, finished)
	s.checkDone(r)
}

// apply sets the text of every part. Empty parts are skipped, so the placeholder stays
// until part 0 has text, except in a final text, where an empty part 0 becomes EmptyText.
func (r *Reply) apply(s *Scheduler, want []string, finished bool) {
	if finished && (len(want) == 0 || isBlank(want[0])) {
		want = slices.Clone(want)
		if len(want) == 0 {
			want = append(want, "")
		}
		want[0] = s.cfg.EmptyText
	}
	if finished && len(want) < len(r.parts) {
		s.log.Warn("final text has fewer parts than were posted, extra messages keep their text",
			"channel", r.channel,
			"thread_ts", r.threadTS,
			"parts", len(want),
			"posted_parts", len(r.parts))
		r.keepShown(len(want))
	}

	for i, text := range want {
		if isBlank(text) {
			continue
		}
		if i >= len(r.parts) {
			r.parts = append(r.parts, &part{})
		}
		p := r.parts[i]
		if text != p.text {
			p.text = text
			p.layout()
		}
	}
	r.final = finished
}

// keepShown leaves the messages of the parts from index from on with the text Slack
// shows, so that a message not posted yet is not posted and an intermediate text not sent
// yet is not sent. A write in flight still completes.
func (r *Reply) keepShown(from int) {
	for _, p := range r.parts[from:] {
		for _, m := range p.msgs {
			if !m.inFlight {
				m.text = m.sent
			}
		}
	}
}

// layout distributes the text of p over its messages.
func (p *part) layout() {
	pieces := []string{p.text}
	if p.limit > 0 {
		pieces = splitLimit(p.text, p.limit)
	}
	for j, piece := range pieces {
		if j == len(p.msgs) {
			p.msgs = append(p.msgs, &message{})
		}
		p.msgs[j].text = piece
	}
}

// isBlank reports whether text has nothing to show. Slack rejects empty text with no_text.
func isBlank(text string) bool {
	return strings.TrimSpace(text) == ""
}

// splitLimit cuts s into pieces of at most limit runes whose concatenation is s. It cuts
// after the last newline, or else the last space, in the second half of each piece, and
// never inside a UTF-8 sequence.
func splitLimit(s string, limit int) []string {
	if limit < 1 {
		return []string{s}
	}
	var pieces []string
	for utf8.RuneCountInString(s) > limit {
		cut := cutIndex(s, limit)
		pieces = append(pieces, s[:cut])
		s = s[cut:]
	}
	if s != "" {
		pieces = append(pieces, s)
	}
	return pieces
}

// cutIndex returns the byte offset at which to end a piece of at most limit runes of s.
func cutIndex(s string, limit int) int {
	end, half := 0, 0
	for n := range limit {
		if n == limit/2 {
			half = end
		}
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	window := s[:end]
	if i := strings.LastIndexByte(window, '\n'); i >= half {
		return i + 1
	}
	if i := strings.LastIndexByte(window, ' '); i >= half {
		return i + 1
	}
	return end
}
