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
	MaxConnections int           // open connections at most (0: unlimited)
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

	slots    chan struct{} // one token per open connection, nil if unlimited
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
	if cfg.MaxConnections > 0 {
		s.slots = make(chan struct{}, cfg.MaxConnections)
	}
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
// Connection limit: with MaxConnections open, an accepted connection first
// makes idle keep-alive connections (ones that were served and wait for
// another request) close, and otherwise waits, unserved, for a slot; further
// clients wait in the kernel's accept queue. Nobody is refused: a burst costs
// latency, not failures.
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
		// connections are only closed when a new client really waits.
		if s.slots != nil && !s.takeSlot() {
			nc.Close()
			return ErrServerClosed
		}
		cn := newConn(s, nc)
		if !s.track(cn) {
			nc.Close()
			s.freeSlot()
			putConn(cn)
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

// takeSlot reserves a connection slot, closing idle keep-alive connections
// and then waiting if all are taken. It returns false when the server closes.
func (s *Server) takeSlot() bool {
	select {
	case s.slots <- struct{}{}:
		return true
	default:
	}
	s.closeIdle()
	select {
	case s.slots <- struct{}{}:
		return true
	case <-s.done:
		return false
	}
}

func (s *Server) freeSlot() {
	if s.slots != nil {
		<-s.slots
	}
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

func (s *Server) untrack(cn *conn) {
	s.mu.Lock()
	delete(s.conns, cn)
	s.mu.Unlock()
	s.freeSlot()
	s.wg.Done()
}

// closeIdle wakes every keep-alive connection that waits for its next
// request; they see the expired deadline and close. Fresh connections that
// have not sent a request yet are left alone (IdleTimeout bounds them).
func (s *Server) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Unix(1, 0)
	for cn := range s.conns {
		if cn.idle.Load() {
			cn.nc.SetReadDeadline(past)
		}
	}
}

// Close stops all listeners, closes idle connections, lets requests being
// handled finish their reply for up to half a second, cuts the writes still
// blocked after that, and waits for every connection to end.
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
	// Replies being written get closeGrace to finish. A client that sends
	// requests and never reads would otherwise hold Close for the whole
	// write deadline (the idle timeout), past procd's 10 s before SIGKILL.
	if !waitFor(&s.wg, closeGrace) {
		s.mu.Lock()
		for cn := range s.conns {
			cn.nc.SetWriteDeadline(past)
		}
		s.mu.Unlock()
		s.wg.Wait()
	}
	return err
}

// closeGrace is how long Close lets replies being written finish.
const closeGrace = 500 * time.Millisecond

// waitFor waits for wg up to d and reports whether it finished.
func waitFor(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
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
