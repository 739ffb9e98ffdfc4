package fakeslack

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// maxFrameBytes bounds frames read from the bot. slack-go v0.36.0 rejects acks of 20 KiB or
// more before sending them.
const maxFrameBytes = 1 << 20

// sockets is the Socket Mode state of a Server, guarded by Server.mu.
type sockets struct {
	conns      []*conn // open connections in connect order, draining ones included
	lastConnID int
	next       int // round-robin position in conns
	tickets    map[string]bool
	pending    []pendingEnvelope
	deliveries []Delivery
	acks       []Ack
	ackIndex   map[string]int // envelope id → index of its first ack
	badFrames  int
}

type pendingEnvelope struct {
	id, kind string
	frame    []byte
}

func (k *sockets) init() {
	k.tickets = make(map[string]bool)
	k.ackIndex = make(map[string]int)
}

var upgrader = websocket.Upgrader{
	// slack-go sends Origin: https://api.slack.com, which the default check rejects.
	CheckOrigin: func(*http.Request) bool { return true },
}

// connectionsOpen issues a single-use ticket and returns the WebSocket URL that carries it.
func (s *Server) connectionsOpen(*apiRequest) (object, string) {
	ticket := fmt.Sprintf("%016x", s.nextID())
	s.mu.Lock()
	s.tickets[ticket] = true
	s.mu.Unlock()
	wsURL := "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/link/?ticket=" + ticket + "&app_id=" + s.cfg.appID
	return object{"url": wsURL}, ""
}

// serveSocket upgrades a ticketed request to a Socket Mode connection, sends hello and any
// envelopes that waited for a connection, then reads acks until the connection ends.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket] && !s.closed
	delete(s.tickets, ticket)
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or used ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has written the error response
	}
	ws.SetReadLimit(maxFrameBytes)
	c := newConn(ws)
	if !s.register(c) {
		_ = ws.Close()
		return
	}
	go func() {
		defer s.wg.Done()
		c.writeLoop(s.cfg.pingInterval)
	}()
	defer s.wg.Done()
	s.readLoop(c)
}

// register adds c, queues hello and the pending envelopes on it, and reserves the wait
// group slots of its two goroutines. It returns false once the server is closed.
func (s *Server) register(c *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.lastConnID++
	c.id = s.lastConnID
	s.conns = append(s.conns, c)
	c.enqueue(mustJSON(object{
		"type":            "hello",
		"num_connections": s.activeCountLocked(),
		"connection_info": object{"app_id": s.cfg.appID},
		"debug_info": object{"host": "fakeslack-link", "build_number": 1,
			"approximate_connection_time": 18060},
	}))
	now := time.Now()
	for _, p := range s.pending {
		c.enqueue(p.frame)
		s.deliveries = append(s.deliveries, Delivery{EnvelopeID: p.id, Type: p.kind, Conn: c.id, At: now})
	}
	s.pending = nil
	s.wg.Add(2)
	s.notifyLocked()
	return true
}

func (s *Server) readLoop(c *conn) {
	defer s.unregister(c)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		s.recordFrame(c.id, data)
	}
}

func (s *Server) unregister(c *conn) {
	c.shutdown()
	s.mu.Lock()
	s.removeLocked(c)
	s.notifyLocked()
	s.mu.Unlock()
}

func (s *Server) removeLocked(c *conn) {
	for i, other := range s.conns {
		if other == c {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			return
		}
	}
}

// Send writes env to one active connection, chosen round-robin, and returns its envelope
// id, filling EnvelopeID when empty. With no active connection the envelope waits and goes
// to the next connection that opens, as Slack holds events for a reconnecting app.
func (s *Server) Send(env Envelope) string {
	id, _ := s.send(env, 0)
	return id
}

// SendTo writes env to the connection with id connID and returns its envelope id. It fails
// when that connection is closed or was sent a disconnect.
func (s *Server) SendTo(connID int, env Envelope) (string, error) {
	if connID <= 0 {
		return "", fmt.Errorf("invalid connection id %d", connID)
	}
	return s.send(env, connID)
}

func (s *Server) send(env Envelope, connID int) (string, error) {
	if env.EnvelopeID == "" {
		env.EnvelopeID = s.newEnvelopeID()
	}
	frame := mustJSON(env)
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		c := s.pickLocked(connID)
		if c == nil && connID != 0 {
			return "", fmt.Errorf("connection %d is not active", connID)
		}
		if c == nil {
			s.pending = append(s.pending, pendingEnvelope{id: env.EnvelopeID, kind: env.Type, frame: frame})
			s.notifyLocked()
			return env.EnvelopeID, nil
		}
		if c.enqueue(frame) {
			s.deliveries = append(s.deliveries, Delivery{EnvelopeID: env.EnvelopeID, Type: env.Type,
				Conn: c.id, At: time.Now()})
			s.notifyLocked()
			return env.EnvelopeID, nil
		}
		s.removeLocked(c) // closed meanwhile, so try another
	}
}

// pickLocked returns the active connection connID, or the next active one round-robin
// when connID is 0, or nil.
func (s *Server) pickLocked(connID int) *conn {
	if connID != 0 {
		for _, c := range s.conns {
			if c.id == connID && c.active() {
				return c
			}
		}
		return nil
	}
	for range len(s.conns) {
		s.next %= len(s.conns)
		c := s.conns[s.next]
		s.next++
		if c.active() {
			return c
		}
	}
	return nil
}

func (s *Server) activeCountLocked() int {
	n := 0
	for _, c := range s.conns {
		if c.active() {
			n++
		}
	}
	return n
}

// Disconnect sends a disconnect envelope with reason ("refresh_requested", "warning", …)
// on every active connection. Those connections get no further envelopes, and slack-go then
// closes them and opens new ones through apps.connections.open.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if !c.draining {
			s.disconnectLocked(c, reason)
		}
	}
	s.notifyLocked()
}

// DisconnectConn sends a disconnect envelope on the connection connID only.
func (s *Server) DisconnectConn(connID int, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.pickLocked(connID)
	if c == nil {
		return fmt.Errorf("connection %d is not active", connID)
	}
	s.disconnectLocked(c, reason)
	s.notifyLocked()
	return nil
}

func (s *Server) disconnectLocked(c *conn, reason string) {
	c.draining = true
	c.enqueue(mustJSON(object{"type": "disconnect", "reason": reason,
		"debug_info": object{"host": "fakeslack-link"}}))
}

// DropConnection closes the connection connID without a close frame, as a network failure
// would.
func (s *Server) DropConnection(connID int) error {
	s.mu.Lock()
	var target *conn
	for _, c := range s.conns {
		if c.id == connID {
			target = c
		}
	}
	s.mu.Unlock()
	if target == nil {
		return fmt.Errorf("connection %d is not open", connID)
	}
	target.shutdown()
	return nil
}

// ConnectionCount returns the number of active connections: open and not sent a disconnect.
func (s *Server) ConnectionCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.activeCountLocked()
}

// ConnectionIDs returns the ids of the active connections in connect order. Ids start at 1
// and are never reused.
func (s *Server) ConnectionIDs() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int
	for _, c := range s.conns {
		if c.active() {
			ids = append(ids, c.id)
		}
	}
	return ids
}

// WaitConnections waits until at least n connections are active.
func (s *Server) WaitConnections(t testing.TB, n int, timeout time.Duration) {
	t.Helper()
	s.WaitFor(t, func(s *Server) bool { return s.ConnectionCount() >= n }, timeout)
}
