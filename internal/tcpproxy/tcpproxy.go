// Package tcpproxy gives tests a TCP proxy on 127.0.0.1 that they can stop and restart,
// so that a server such as Redis seems to go away and come back on the same address.
package tcpproxy

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections from a port on 127.0.0.1 to a target address. Stop closes
// every connection and the listener, as a server that goes away would. Restart listens
// on the same port again.
type Proxy struct {
	target string

	mu    sync.Mutex
	addr  string
	ln    net.Listener
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Start starts a proxy to target on a free port of 127.0.0.1 and stops it when t ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p := &Proxy{target: target, addr: "127.0.0.1:0", conns: make(map[net.Conn]struct{})}
	if err := p.listen(); err != nil {
		t.Fatalf("start proxy to %s: %v", target, err)
	}
	t.Cleanup(p.Stop)
	return p
}

// Addr returns the host:port that the proxy listens on.
func (p *Proxy) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

// Restart listens again on the proxy's address after Stop. It fails when another
// listener has taken that port since.
func (p *Proxy) Restart() error {
	return p.listen()
}

func (p *Proxy) listen() error {
	ln, err := net.Listen("tcp", p.Addr())
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln = ln
	p.addr = ln.Addr().String()
	p.mu.Unlock()

	p.wg.Go(func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Go(func() { p.forward(conn) })
		}
	})
	return nil
}

func (p *Proxy) forward(client net.Conn) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client, server) {
		return
	}

	var copies sync.WaitGroup
	copies.Go(func() { io.Copy(server, client); server.Close() })
	copies.Go(func() { io.Copy(client, server); client.Close() })
	copies.Wait()

	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// track registers both ends of a connection, or closes them when the proxy is stopped.
func (p *Proxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		for _, c := range conns {
			c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

// Stop closes the listener and every forwarded connection, and waits until all the
// proxy's goroutines have returned. Stopping a stopped proxy does nothing.
func (p *Proxy) Stop() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
	p.mu.Unlock()
	p.wg.Wait()
}
