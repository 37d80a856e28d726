package udp

import (
	"cmp"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/access"
	"github.com/opentracker-go/opentracker/tracker/config"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/swarm"
)

// Packet builders and reply decoders shared by the tests: the client side
// of BEP 15, written independently of the server's encoders.

func connectPkt(tid uint32) []byte {
	b := binary.BigEndian.AppendUint64(nil, protocolID)
	b = binary.BigEndian.AppendUint32(b, actionConnect)
	return binary.BigEndian.AppendUint32(b, tid)
}

type annArgs struct {
	hash    logic.InfoHash
	left    uint64
	event   uint32
	numWant int32
	port    uint16
}

func announcePkt(id uint64, tid uint32, a annArgs) []byte {
	b := make([]byte, 98)
	binary.BigEndian.PutUint64(b[0:], id)
	binary.BigEndian.PutUint32(b[8:], actionAnnounce)
	binary.BigEndian.PutUint32(b[12:], tid)
	copy(b[16:], a.hash[:])
	copy(b[36:], "-GO0001-udptest00000")
	binary.BigEndian.PutUint64(b[64:], a.left)
	binary.BigEndian.PutUint32(b[80:], a.event)
	binary.BigEndian.PutUint32(b[88:], 0x1234)
	binary.BigEndian.PutUint32(b[92:], uint32(a.numWant))
	binary.BigEndian.PutUint16(b[96:], a.port)
	return b
}

func scrapePkt(id uint64, tid uint32, hs ...logic.InfoHash) []byte {
	b := binary.BigEndian.AppendUint64(nil, id)
	b = binary.BigEndian.AppendUint32(b, actionScrape)
	b = binary.BigEndian.AppendUint32(b, tid)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

func hashOf(s string) logic.InfoHash {
	var h logic.InfoHash
	copy(h[:], s)
	return h
}

type annReply struct {
	interval, leechers, seeders uint32
	peers                       []netip.AddrPort
}

// decodeAnnounce checks the header of an announce reply and splits its peers
// by the stride of the client's family.
func decodeAnnounce(t testing.TB, b []byte, tid uint32, v6 bool) annReply {
	t.Helper()
	if len(b) < 20 {
		t.Fatalf("announce reply %d bytes: %x", len(b), b)
	}
	if a := binary.BigEndian.Uint32(b); a != actionAnnounce || binary.BigEndian.Uint32(b[4:]) != tid {
		t.Fatalf("announce reply action %d tid %x (want %x): %q", a, binary.BigEndian.Uint32(b[4:]), tid, b)
	}
	r := annReply{
		interval: binary.BigEndian.Uint32(b[8:]),
		leechers: binary.BigEndian.Uint32(b[12:]),
		seeders:  binary.BigEndian.Uint32(b[16:]),
	}
	stride := 6
	if v6 {
		stride = 18
	}
	p := b[20:]
	if len(p)%stride != 0 {
		t.Fatalf("peer bytes %d not a multiple of %d", len(p), stride)
	}
	for ; len(p) > 0; p = p[stride:] {
		ip, _ := netip.AddrFromSlice(p[:stride-2])
		r.peers = append(r.peers, netip.AddrPortFrom(ip, binary.BigEndian.Uint16(p[stride-2:])))
	}
	return r
}

type scrapeEntry struct{ seeders, completed, leechers uint32 }

func decodeScrape(t testing.TB, b []byte, tid uint32) []scrapeEntry {
	t.Helper()
	if len(b) < 8 || binary.BigEndian.Uint32(b) != actionScrape || binary.BigEndian.Uint32(b[4:]) != tid || (len(b)-8)%12 != 0 {
		t.Fatalf("bad scrape reply: %x", b)
	}
	var out []scrapeEntry
	for p := b[8:]; len(p) > 0; p = p[12:] {
		out = append(out, scrapeEntry{binary.BigEndian.Uint32(p), binary.BigEndian.Uint32(p[4:]), binary.BigEndian.Uint32(p[8:])})
	}
	return out
}

// decodeError returns the message of an error packet, failing on others.
func decodeError(t testing.TB, b []byte, tid uint32) string {
	t.Helper()
	if len(b) < 8 || binary.BigEndian.Uint32(b) != actionError || binary.BigEndian.Uint32(b[4:]) != tid {
		t.Fatalf("want error packet for tid %x, got %x", tid, b)
	}
	return string(b[8:])
}

func newStore(t testing.TB) *swarm.Store {
	t.Helper()
	st, err := swarm.New(swarm.Config{MemoryBudget: 8 << 20, PeerTimeout: 45 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newTestServer makes a server (not listening) over a fresh store.
func newTestServer(t testing.TB, cfg Config, acl *access.List) (*Server, *logic.Counters) {
	t.Helper()
	c := new(logic.Counters)
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	s, err := NewServer(withDefaults(cfg), newTracker(newStore(t), acl, c))
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// client is a UDP client socket bound to a chosen local address.
type client struct {
	t         testing.TB
	conn      *net.UDPConn
	to        netip.AddrPort
	connected bool // conn is connected to to: the kernel drops replies from elsewhere
	buf       [4096]byte
}

func dial(t testing.TB, local netip.Addr, to netip.AddrPort) *client {
	t.Helper()
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, to: to}
}

func (c *client) addr() netip.AddrPort { return c.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// exchange sends req and returns the reply, or nil if none comes within wait.
func (c *client) exchange(req []byte, wait time.Duration) []byte {
	c.t.Helper()
	var err error
	if c.connected {
		_, err = c.conn.Write(req)
	} else {
		_, err = c.conn.WriteToUDPAddrPort(req, c.to)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	c.conn.SetReadDeadline(time.Now().Add(wait))
	for {
		n, from, err := c.conn.ReadFromUDPAddrPort(c.buf[:])
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return nil
			}
			c.t.Fatal(err)
		}
		if from.Port() != c.to.Port() {
			continue
		}
		return append([]byte(nil), c.buf[:n]...)
	}
}

func (c *client) mustExchange(req []byte) []byte {
	c.t.Helper()
	r := c.exchange(req, 2*time.Second)
	if r == nil {
		c.t.Fatalf("no reply to %x", req)
	}
	return r
}

func (c *client) connect() uint64 {
	c.t.Helper()
	r := c.mustExchange(connectPkt(0xc0ffee))
	if len(r) != 16 || binary.BigEndian.Uint32(r) != actionConnect || binary.BigEndian.Uint32(r[4:]) != 0xc0ffee {
		c.t.Fatalf("bad connect reply %x", r)
	}
	return binary.BigEndian.Uint64(r[8:])
}

func (c *client) announce(id uint64, a annArgs) annReply {
	c.t.Helper()
	return decodeAnnounce(c.t, c.mustExchange(announcePkt(id, 0xa11, a)), 0xa11, c.to.Addr().Is6() && !c.to.Addr().Is4In6())
}

func (c *client) scrape(id uint64, hs ...logic.InfoHash) []scrapeEntry {
	c.t.Helper()
	return decodeScrape(c.t, c.mustExchange(scrapePkt(id, 0x5c, hs...)), 0x5c)
}

// defaults is the daemon's default configuration (default.toml).
var defaults = func() *config.Config {
	c, err := config.Load("")
	if err != nil {
		panic(err)
	}
	return c
}()

// withDefaults fills cfg's zero fields from the defaults.
func withDefaults(cfg Config) Config {
	cfg.MaxNumWant = cmp.Or(cfg.MaxNumWant, defaults.Announce.MaxNumWant)
	return cfg
}

// newTracker is the policy over st with the default interval.
func newTracker(st *swarm.Store, acl *access.List, c *logic.Counters) *logic.Tracker {
	return logic.New(logic.Config{Interval: defaults.Typed.Interval}, st, acl, c)
}
