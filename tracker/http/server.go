package http

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// Config configures a Server. The daemon fills it from its configuration,
// whose defaults are in tracker/config/default.toml.
type Config struct {
	NumWant        int           // peers when the client does not say
	MaxNumWant     int           // cap on numwant, 1..logic.MaxPeersPerReply
	Redirect       string        // 302 target for "GET /"; empty answers 404
	StatsPath      string        // path of the stats page, with or without the leading "/"
	MaxConnections int           // open connections at most, slots allocated at start (0: DefaultMaxConnections)
	MaxPerAddress  int           // open connections per client address, proxies exempt (0: DefaultMaxPerAddress, <0: no cap)
	IdleTimeout    time.Duration // keep-alive idle time and time to send one request
	FullScrape     bool          // serve /scrape without info_hash to Admin networks
	Admin          logic.Networks
	Proxies        logic.Networks
	IPFromQuery    bool                             // honour announce ip= from anyone (else only from Admin)
	Logf           func(format string, args ...any) // problems
	Infof          func(format string, args ...any) // routine events (full scrapes)
	Stats          StatsPages                       // renders /stats; nil: 404
}

// StatsPages renders the statistics pages (stats.Pages in the daemon).
type StatsPages interface {
	// Render appends the page for mode and format to dst. An error with a
	// BadRequest method that returns true is the client's (an unknown
	// mode): 400; any other is 500.
	Render(dst []byte, mode, format string) ([]byte, error)
}

// Server is the HTTP tracker front end. It is safe for concurrent use and can
// serve several listeners at once.
type Server struct {
	cfg atomic.Pointer[Config] // replaced whole by SetConfig
	t   *logic.Tracker
	c   *logic.Counters // t's

	table    *connTable // every connection's slot and read buffer
	closing  atomic.Bool
	done     chan struct{}
	fullSem  chan struct{} // one full scrape at a time bounds its memory
	mu       sync.Mutex
	conns    map[*conn]struct{}
	lns      map[net.Listener]struct{}
	inlines  map[*inlineAcceptor]struct{} // Linux accept loops, closed by Close
	wg       sync.WaitGroup
	doneOnce sync.Once

	inlineAnswers atomic.Uint64 // requests answered by the inline path (tests)

	udpPorts atomic.Pointer[[]uint16] // for the landing page's UDP URL
}

// NewServer returns a Server that answers announces and scrapes with t.
func NewServer(cfg Config, t *logic.Tracker) (*Server, error) {
	cfg, err := checkConfig(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{
		t:       t,
		c:       t.Counters(),
		done:    make(chan struct{}),
		fullSem: make(chan struct{}, 1),
		conns:   make(map[*conn]struct{}),
		lns:     make(map[net.Listener]struct{}),
		inlines: make(map[*inlineAcceptor]struct{}),
	}
	s.cfg.Store(&cfg)
	s.table = newConnTable(s, cfg.MaxConnections)
	return s, nil
}

// SetConfig applies cfg to a running server (SIGHUP): every value but
// MaxConnections, whose connection slots are made once, holds from the next
// request on. An unusable cfg is refused and changes nothing.
func (s *Server) SetConfig(cfg Config) error {
	cfg, err := checkConfig(cfg)
	if err != nil {
		return err
	}
	s.cfg.Store(&cfg)
	return nil
}

// conf is the configuration in force.
func (s *Server) conf() *Config { return s.cfg.Load() }

// checkConfig refuses an unusable cfg and completes the rest.
func checkConfig(cfg Config) (Config, error) {
	switch {
	case cfg.MaxNumWant < 1 || cfg.MaxNumWant > logic.MaxPeersPerReply:
		return cfg, fmt.Errorf("http: max numwant %d is outside 1..%d", cfg.MaxNumWant, logic.MaxPeersPerReply)
	case cfg.NumWant < 0 || cfg.NumWant > cfg.MaxNumWant:
		return cfg, fmt.Errorf("http: numwant %d is outside 0..%d", cfg.NumWant, cfg.MaxNumWant)
	case cfg.IdleTimeout <= 0:
		return cfg, errors.New("http: no idle timeout")
	case cfg.Stats != nil && strings.Trim(cfg.StatsPath, "/") == "":
		return cfg, errors.New("http: no stats path")
	}
	if !strings.HasPrefix(cfg.StatsPath, "/") {
		cfg.StatsPath = "/" + cfg.StatsPath
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.Infof == nil {
		cfg.Infof = func(string, ...any) {}
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.MaxPerAddress == 0 {
		cfg.MaxPerAddress = DefaultMaxPerAddress
	}
	return cfg, nil
}

// ErrServerClosed is returned by Serve after Close.
var ErrServerClosed = errors.New("http tracker: server closed")

// Serve accepts connections on ln until ln fails or Close is called, when it
// returns ErrServerClosed. Each connection gets its own goroutine, except on
// Linux, where announces and scrapes on new and keep-alive connections are
// answered inline by Serve's loop. There Serve waits on a duplicate of ln's
// descriptor: if ln is closed without Close, Serve notices within about a
// second (listenerCheck), closes the duplicate and the keep-alive
// connections it holds, and returns.
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

	if tl, ok := ln.(*net.TCPListener); ok && Inline {
		// Linux: raw accept4, small requests answered inline.
		if a := s.newInlineAcceptor(tl); a != nil {
			return s.serveInlineAcceptor(a)
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
		cn := s.acquire(peer.Addr(), nil)
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

// serveInlineAcceptor runs Serve's Linux accept loop a.
func (s *Server) serveInlineAcceptor(a *inlineAcceptor) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		a.close()
		return ErrServerClosed
	}
	s.inlines[a] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.inlines, a)
		s.mu.Unlock()
		a.close()
	}()
	return a.serve()
}

// backoffAccept waits after a temporary accept error (EMFILE and friends)
// instead of spinning. It returns false when the server closes meanwhile.
func (s *Server) backoffAccept(backoff *time.Duration, err error) bool {
	if *backoff == 0 {
		*backoff = 5 * time.Millisecond
	} else if *backoff *= 2; *backoff > time.Second {
		*backoff = time.Second
	}
	s.conf().Logf("http: accept: %v; retrying in %v", err, *backoff)
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
// evictions and refusals; self is the inline acceptor calling, if any.
func (s *Server) acquire(addr netip.Addr, self *inlineAcceptor) *conn {
	cn, evicted := s.table.acquire(addr, self)
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
	for a := range s.inlines {
		a.close() // its loop ends, closing the duplicate that would keep the socket listening, and its parked connections
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
	if !waitGroupFor(&s.wg, closeGrace) {
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

// waitGroupFor waits for wg up to d and reports whether it finished.
func waitGroupFor(wg *sync.WaitGroup, d time.Duration) bool {
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

// Inline enables, on Linux TCP listeners, the accept loop that answers a
// connection's first announce or scrape inline (see inlineAcceptor). Tests
// turn it off to exercise the portable path; set it before Serve.
var Inline = true
