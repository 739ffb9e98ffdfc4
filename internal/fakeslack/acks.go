package fakeslack

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Ack is one acknowledgement received from the bot.
type Ack struct {
	EnvelopeID string
	// Payload is the ack's payload, or nil when it had none.
	Payload json.RawMessage
	// Conn is the id of the connection the ack arrived on.
	Conn int
	At   time.Time
}

// Delivery records which connection an envelope was written to.
type Delivery struct {
	EnvelopeID string
	Type       string
	Conn       int
	At         time.Time
}

// ackFrame is the message the bot writes to acknowledge an envelope.
type ackFrame struct {
	EnvelopeID string          `json:"envelope_id"`
	Payload    json.RawMessage `json:"payload"`
}

// parseAck decodes an ack frame and rejects one without envelope_id.
func parseAck(data []byte) (ackFrame, error) {
	var a ackFrame
	if err := json.Unmarshal(data, &a); err != nil {
		return ackFrame{}, fmt.Errorf("decoding ack: %w", err)
	}
	if a.EnvelopeID == "" {
		return ackFrame{}, errors.New("ack has no envelope_id")
	}
	if string(a.Payload) == "null" {
		a.Payload = nil
	}
	return a, nil
}

func (s *Server) recordFrame(connID int, data []byte) {
	a, err := parseAck(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.badFrames++
	} else {
		if _, seen := s.ackIndex[a.EnvelopeID]; !seen {
			s.ackIndex[a.EnvelopeID] = len(s.acks)
		}
		s.acks = append(s.acks, Ack{EnvelopeID: a.EnvelopeID, Payload: a.Payload, Conn: connID, At: time.Now()})
	}
	s.notifyLocked()
}

// Acks returns every ack received, in arrival order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Ack(nil), s.acks...)
}

// AckFor returns the first ack of envelopeID.
func (s *Server) AckFor(envelopeID string) (Ack, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.ackIndex[envelopeID]
	if !ok {
		return Ack{}, false
	}
	return s.acks[i], true
}

// WaitAck waits for the ack of envelopeID and returns it.
func (s *Server) WaitAck(t testing.TB, envelopeID string, timeout time.Duration) Ack {
	t.Helper()
	s.WaitFor(t, func(s *Server) bool {
		_, ok := s.AckFor(envelopeID)
		return ok
	}, timeout)
	a, _ := s.AckFor(envelopeID)
	return a
}

// Deliveries returns the envelopes written to connections, in send order.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.deliveries...)
}

// PendingCount returns the number of envelopes waiting for a connection.
func (s *Server) PendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// BadFrames returns the number of frames from the bot that were not valid acks.
func (s *Server) BadFrames() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.badFrames
}
