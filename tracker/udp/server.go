package udp

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/sock"
)

// Config tunes the UDP front end.
type Config struct {
	MaxNumWant int // most v4 peers per reply; v6 gets a third (same bytes)
	Workers    int // receive loops (SO_REUSEPORT sockets) per bind; 0 = GOMAXPROCS
	Logf       func(format string, args ...any)
}

// Server answers BEP 15 requests on any number of UDP binds.
type Server struct {
	t        *logic.Tracker
	stats    *logic.Counters // t's
	logFn    func(format string, args ...any)
	workers  int
	maxWant4 atomic.Int32 // SetMaxNumWant changes both
	maxWant6 atomic.Int32
	ids      connIDs
	now      func() time.Time // replaced by tests to move through id windows
	plainIO  bool             // tests: one packet per syscall even where batching exists

	mu      sync.Mutex
	conns   []*net.UDPConn
	started bool
	closed  bool
	wg      sync.WaitGroup
}

// NewServer checks cfg and makes the connection id secret. Announces and
// scrapes are answered by t.
func NewServer(cfg Config, t *logic.Tracker) (*Server, error) {
	if t == nil {
		return nil, errors.New("udp: no tracker")
	}
	if cfg.MaxNumWant < 1 || cfg.Workers < 0 {
		return nil, errors.New("udp: max numwant under 1 or negative workers")
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	ids, err := newConnIDs()
	if err != nil {
		return nil, fmt.Errorf("udp: connection id secret: %w", err)
	}
	s := &Server{
		t:       t,
		stats:   t.Counters(),
		logFn:   cfg.Logf,
		workers: cfg.Workers,
		ids:     ids,
		now:     time.Now,
	}
	s.SetMaxNumWant(cfg.MaxNumWant)
	return s, nil
}

// SetMaxNumWant changes the most peers per reply (at least 1), for the
// replies from now on (SIGHUP).
func (s *Server) SetMaxNumWant(n int) {
	want4 := min(max(n, 1), logic.MaxPeersPerReply) // outLen holds this many
	s.maxWant4.Store(int32(want4))
	// 18-byte peers: a third as many keeps v6 replies as small as v4 ones
	// (66 for 200: 1208 bytes, under the 1232 that IPv6's minimum MTU
	// leaves, so they never fragment).
	s.maxWant6.Store(int32(max(want4/3, 1)))
}

func (s *Server) logf(format string, args ...any) {
	if s.logFn != nil {
		s.logFn(format, args...)
	}
}

// Listen binds addr now, so that a daemon can bind privileged ports before it
// drops root; serving starts with Start. It opens Workers sockets sharing the
// address (sock.ListenUDPGroup). "0.0.0.0:p" binds IPv4 only, "[::]:p" IPv6 only (IPV6_V6ONLY, so it
// can sit beside a v4 bind of the same port), ":p" one dual-stack socket
// set. It returns the bound address, which tells the port when addr asks for
// port 0.
func (s *Server) Listen(addr string) (netip.AddrPort, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return netip.AddrPort{}, net.ErrClosed
	}
	conns, bound, err := sock.ListenUDPGroup(addr, s.workers)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("udp: listen %q: %w", addr, err)
	}
	s.conns = append(s.conns, conns...)
	if s.started {
		for _, c := range conns {
			s.serve(c)
		}
	}
	return bound, nil
}

// Start serves every bound socket; binds added later serve at once.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return
	}
	s.started = true
	for _, c := range s.conns {
		s.serve(c)
	}
}

func (s *Server) serve(c *net.UDPConn) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if s.plainIO || !s.loopBatch(c) {
			s.loop(c)
		}
	}()
}

// Close stops the loops, closes the sockets and waits for the loops to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var err error
	for _, c := range s.conns {
		if e := c.Close(); e != nil && err == nil {
			err = e
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}
