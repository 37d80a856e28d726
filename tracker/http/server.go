package http

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/stats"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// Config configures a Server. Zero values get the defaults noted.
type Config struct {
	Interval       time.Duration // base announce interval (1800 s); replies vary it by -10%..+10%, min interval is half
	NumWant        int           // peers when the client does not say (50)
	MaxNumWant     int           // cap on numwant (200, at most swarm.MaxPeersPerReply)
	Redirect       string        // 302 target for "GET /"; empty answers 404
	StatsPath      string        // path of the stats page without "/" ("stats")
	MaxConnections int           // open connections at most, slots allocated at start (0: DefaultMaxConnections)
	MaxPerAddress  int           // open connections per client address, proxies exempt (0: DefaultMaxPerAddress, <0: no cap)
	IdleTimeout    time.Duration // keep-alive idle time and time to send one request (30 s)
	FullScrape     bool          // serve /scrape without info_hash to Admin networks
	Admin          access.Networks
	Proxies        access.Networks
	IPFromQuery    bool                             // honour announce ip= from anyone (else only from Admin)
	Logf           func(format string, args ...any) // problems
	Infof          func(format string, args ...any) // routine events (full scrapes)
}

// Server is the HTTP tracker front end. It is safe for concurrent use and can
// serve several listeners at once.
type Server struct {
	cfg   Config
	store *swarm.Store
	acl   *access.List
	c     *stats.Counters

	table    *connTable // every connection's slot and read buffer
	closing  atomic.Bool
	done     chan struct{}
	fullSem  chan struct{} // one full scrape at a time bounds its memory
	mu       sync.Mutex
	conns    map[*conn]struct{}
	lns      map[net.Listener]struct{}
	raws     map[*rawAcceptor]struct{} // Linux accept loops, closed by Close
	wg       sync.WaitGroup
	doneOnce sync.Once

	inline atomic.Uint64 // requests answered inline on a raw socket (tests)
}

// NewServer returns a Server for store. A nil acl allows every torrent; a nil
// c counts into a private Counters.
func NewServer(cfg Config, store *swarm.Store, acl *access.List, c *stats.Counters) *Server {
	if cfg.Interval <= 0 {
		cfg.Interval = 1800 * time.Second
	}
	if cfg.MaxNumWant <= 0 {
		cfg.MaxNumWant = 200
	}
	if cfg.MaxNumWant > swarm.MaxPeersPerReply {
		cfg.MaxNumWant = swarm.MaxPeersPerReply
	}
	if cfg.NumWant <= 0 {
		cfg.NumWant = 50
	}
	if cfg.NumWant > cfg.MaxNumWant {
		cfg.NumWant = cfg.MaxNumWant
	}
	if cfg.StatsPath == "" {
		cfg.StatsPath = "stats"
	}
	if cfg.StatsPath[0] != '/' {
		cfg.StatsPath = "/" + cfg.StatsPath
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Infof == nil {
		cfg.Infof = func(string, ...any) {}
	}
	if c == nil {
		c = new(stats.Counters)
	}
	s := &Server{
		cfg:     cfg,
		store:   store,
		acl:     acl,
		c:       c,
		done:    make(chan struct{}),
		fullSem: make(chan struct{}, 1),
		conns:   make(map[*conn]struct{}),
		lns:     make(map[net.Listener]struct{}),
		raws:    make(map[*rawAcceptor]struct{}),
	}
	if s.cfg.MaxConnections <= 0 {
		s.cfg.MaxConnections = DefaultMaxConnections
	}
	if s.cfg.MaxPerAddress == 0 {
		s.cfg.MaxPerAddress = DefaultMaxPerAddress
	}
	s.table = newConnTable(s, s.cfg.MaxConnections, s.cfg.MaxPerAddress, cfg.Proxies)
	return s
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("http tracker: server closed")

// Serve accepts connections on ln until ln fails or Close is called, when it
// returns ErrServerClosed. Each connection gets its own goroutine, except on
// Linux, where simple requests on new connections are answered inline. There
// Serve waits on a duplicate of ln's descriptor: if ln is closed without
// Close, Serve notices within about a second (listenerCheck), closes the
// duplicate and returns.
//
// Connection limit: with MaxConnections open, an accepted connection evicts
// the one that has waited longest (see connTable), so that held connections
// cannot starve new clients; a client address over MaxPerAddress evicts its
// own oldest connection. A connection that cannot get a slot (every one is
// answering a request) gets a 503 and is closed.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.lns[ln] = struct{}{}
	// Close also waits for Serve, which may be answering a request inline.
	s.wg.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.lns, ln)
		s.mu.Unlock()
		s.wg.Done()
	}()

	if tl, ok := ln.(*net.TCPListener); ok && FastAccept {
		// Linux: raw accept4, simple requests answered inline.
		if raw := s.newRawAcceptor(tl); raw != nil {
			return s.serveAcceptor(raw)
		}
	}
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				if !s.backoffAccept(&backoff, err) {
					return ErrServerClosed
				}
				continue
			}
			return err
		}
		backoff = 0
		s.c.TCPAccepts.Add(1)
		// The slot is taken after Accept, so that idle keep-alive
		// connections are only evicted when a new client really waits.
		peer := peerOf(nc)
		cn := s.acquire(peer.Addr())
		if cn == nil {
			if s.closing.Load() {
				nc.Close()
				return ErrServerClosed
			}
			refuse(nc)
			continue
		}
		cn.attach(s, nc, peer)
		if !s.track(cn) {
			nc.Close()
			s.table.release(cn)
			return ErrServerClosed
		}
		go cn.serve()
	}
}

// serveAcceptor runs Serve's Linux accept loop for ln.
func (s *Server) serveAcceptor(raw *rawAcceptor) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		raw.close()
		return ErrServerClosed
	}
	s.raws[raw] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.raws, raw)
		s.mu.Unlock()
		raw.close()
	}()
	return raw.serve()
}

// backoffAccept waits after a temporary accept error (EMFILE and friends)
// instead of spinning. It returns false when the server closes meanwhile.
func (s *Server) backoffAccept(backoff *time.Duration, err error) bool {
	if *backoff == 0 {
		*backoff = 5 * time.Millisecond
	} else if *backoff *= 2; *backoff > time.Second {
		*backoff = time.Second
	}
	s.cfg.Logf("http: accept: %v; retrying in %v", err, *backoff)
	select {
	case <-time.After(*backoff):
		return true
	case <-s.done:
		return false
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// acquire takes a connection slot for a client at addr, counting
// evictions and refusals.
func (s *Server) acquire(addr netip.Addr) *conn {
	cn, evicted := s.table.acquire(addr)
	if evicted {
		s.c.HTTPEvicted.Add(1)
	}
	if cn == nil {
		s.c.TCPRejected.Add(1)
	}
	return cn
}

func (s *Server) track(cn *conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		return false
	}
	s.conns[cn] = struct{}{}
	s.wg.Add(1)
	return true
}

// untrack forgets cn, closed, and gives its slot back.
func (s *Server) untrack(cn *conn) {
	s.mu.Lock()
	delete(s.conns, cn)
	s.mu.Unlock()
	s.table.release(cn)
	s.wg.Done()
}

// refusal answers a connection that gets no slot. Written without waiting:
// it fits any socket buffer, and a client that cannot take it loses nothing.
const refusal = "HTTP/1.0 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n"

func refuse(nc net.Conn) {
	nc.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	nc.Write([]byte(refusal))
	nc.Close()
}

// Close stops all listeners, closes idle connections, lets requests being
// handled finish their reply, and waits for every connection to end.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing.Store(true)
	s.doneOnce.Do(func() { close(s.done) })
	var err error
	for ln := range s.lns {
		if e := ln.Close(); e != nil && err == nil && !errors.Is(e, net.ErrClosed) {
			err = e
		}
	}
	for raw := range s.raws {
		raw.close() // the duplicate would keep the socket listening
	}
	// A connection checks closing after arming its read deadline, so either
	// it sees the flag or its read is cut short by this past deadline.
	past := time.Unix(1, 0)
	for cn := range s.conns {
		cn.nc.SetReadDeadline(past)
	}
	s.mu.Unlock()
	s.wg.Wait()
	return err
}

// peerOf returns the unmapped remote address of nc.
func peerOf(nc net.Conn) netip.AddrPort {
	var ap netip.AddrPort
	switch a := nc.RemoteAddr().(type) {
	case *net.TCPAddr:
		ap = a.AddrPort()
	default:
		if a != nil {
			ap, _ = netip.ParseAddrPort(a.String())
		}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// FastAccept enables, on Linux TCP listeners, the raw accept loop that
// answers a connection's first announce or scrape inline (see serveFast).
// Tests turn it off to exercise the portable path; set it before Serve.
var FastAccept = true
