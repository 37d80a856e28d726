package livesync

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/opentracker-go/opentracker/tracker/internal/secret"
	"github.com/opentracker-go/opentracker/tracker/logic"
	"github.com/opentracker-go/opentracker/tracker/sock"
)

// DefaultFlushDelay bounds how long a record waits for more to share its
// packet. Upstream's 15 s is not a real bound (its check only runs when the
// main loop wakes up); this one is a real timer.
const DefaultFlushDelay = time.Second

// packetPool is how many packet buffers exist. When the sender falls
// behind and all of them hold full packets, Send writes the oldest one
// itself and reuses its buffer: a burst of announces slows down by one
// packet write per 36 records instead of losing records, and Send never
// allocates. (A burst of 5000 new peers on one CPU used to lose two thirds
// of its records here.)
const packetPool = 16

// writeTimeout bounds one packet write, and so how long Send can wait when
// it writes a packet itself; a packet not written in time counts as
// dropped records.
const writeTimeout = time.Second

// Config configures a Syncer.
type Config struct {
	// Listen is the local interface address to join the group on and to
	// send from, and the port to receive on (and send from). Packets are
	// always sent to port 9696, so use 9696 unless the cluster is one way.
	Listen netip.AddrPort
	// Nodes are the networks whose packets are applied.
	Nodes logic.Networks
	// FlushDelay is the longest a record waits (DefaultFlushDelay if 0).
	FlushDelay time.Duration
	// AlsoType0 sends IPv4 peers as type 0 records as well, for 2021-era
	// IPv4 receivers. It makes upstream HEAD receivers add garbage peers, so
	// leave it off in clusters with HEAD trackers (see the package comment).
	AlsoType0 bool
	// Loopback is the IP_MULTICAST_LOOP option (see Open).
	Loopback bool
}

// Syncer sends the store's news to the cluster and applies what the other
// trackers send.
type Syncer struct {
	cfg      Config
	id       [4]byte
	t        *logic.Tracker
	counters *logic.Counters // t's

	recv, send *net.UDPConn // nil in tests that use write
	dst        netip.AddrPort
	write      func([]byte) error

	mu      sync.Mutex
	pending [2]*packet // by type; guarded by mu
	free    chan *packet
	full    chan *packet // full packets, oldest first
	kick    chan struct{}
	fullNow chan struct{} // a packet was queued in full
	// wmu makes taking a packet from full and writing it one step, so that
	// packets leave in the order they were filled whether the sender or a
	// Send writes them.
	wmu sync.Mutex

	stop      chan struct{}
	done      sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once

	nodes atomic.Pointer[logic.Networks] // cfg.Nodes, then SetNodes'

	sent, received, rejected    atomic.Uint64
	recordsSent, recordsDropped atomic.Uint64
}

type packet struct {
	n   int
	buf [MaxPacket]byte
}

// Stats are a Syncer's own counts.
type Stats struct {
	PacketsSent     uint64 // packets written
	RecordsSent     uint64 // records in them
	RecordsDropped  uint64 // records in packets whose write failed
	PacketsReceived uint64 // packets of known type from nodes, not our own
	PacketsRejected uint64 // packets from elsewhere, our own, short or of unknown type
}

// Stats returns the counts so far.
func (s *Syncer) Stats() Stats {
	return Stats{s.sent.Load(), s.recordsSent.Load(), s.recordsDropped.Load(), s.received.Load(), s.rejected.Load()}
}

// newSyncer makes a Syncer without sockets.
func newSyncer(cfg Config, t *logic.Tracker) (*Syncer, error) {
	if cfg.FlushDelay <= 0 {
		cfg.FlushDelay = DefaultFlushDelay
	}
	s := &Syncer{cfg: cfg, t: t, counters: t.Counters(),
		free:    make(chan *packet, packetPool),
		full:    make(chan *packet, packetPool),
		kick:    make(chan struct{}, 1),
		fullNow: make(chan struct{}, 1),
		stop:    make(chan struct{}),
		dst:     netip.AddrPortFrom(Group, Port),
	}
	s.nodes.Store(&cfg.Nodes)
	// crypto/rand: upstream seeds random() with the start second, so
	// trackers started in the same second share an id and ignore each other.
	if err := secret.Read(s.id[:]); err != nil {
		return nil, err
	}
	for range packetPool {
		s.free <- new(packet)
	}
	return s, nil
}

// Open binds the sockets (do it before dropping privileges): a receive
// socket on 0.0.0.0:<port> joined to 224.0.23.5 on the interface that owns
// the Listen address, and a send socket bound to the Listen address and
// port, with TTL 1 and IP_MULTICAST_IF set to that address. Both set
// SO_REUSEADDR, so several trackers on one host can listen on port 9696.
//
// Multicast loopback: upstream turns it off, which keeps two trackers on
// one host from syncing. Our own packets are dropped by tracker id, so
// loopback on is safe; Config.Loopback chooses it (the daemon turns it on).
func Open(cfg Config, t *logic.Tracker) (*Syncer, error) {
	if !cfg.Listen.Addr().Unmap().Is4() {
		return nil, errors.New("live sync listens on an IPv4 address")
	}
	cfg.Listen = netip.AddrPortFrom(cfg.Listen.Addr().Unmap(), cfg.Listen.Port())
	s, err := newSyncer(cfg, t)
	if err != nil {
		return nil, err
	}
	if s.recv, s.send, err = sock.ListenMulticast(Group, cfg.Listen, cfg.Loopback); err != nil {
		return nil, fmt.Errorf("live sync: %v", err)
	}
	s.write = func(p []byte) error {
		s.send.SetWriteDeadline(time.Now().Add(writeTimeout))
		_, err := s.send.WriteToUDPAddrPort(p, s.dst)
		return err
	}
	return s, nil
}

// SetNodes changes the networks whose packets are applied (SIGHUP).
func (s *Syncer) SetNodes(n logic.Networks) { s.nodes.Store(&n) }

// ID is this tracker's id as sent in every packet header.
func (s *Syncer) ID() [4]byte { return s.id }

// String describes the Syncer for a log line.
func (s *Syncer) String() string {
	return fmt.Sprintf("live sync: group %v:%d on %v, tracker id %x, %d node networks",
		Group, Port, s.cfg.Listen, s.id, s.nodes.Load().Len())
}

// Start runs the sender and, if the sockets are open, the receiver.
func (s *Syncer) Start() {
	s.startOnce.Do(func() {
		s.done.Add(1)
		go s.sender()
		if s.recv != nil {
			s.done.Add(1)
			go s.receiver()
		}
	})
}

// Close sends what is pending, stops both loops and closes the sockets.
func (s *Syncer) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		if s.recv != nil {
			s.recv.Close()
		}
		s.startOnce.Do(func() {}) // a Start after Close does nothing
		s.done.Wait()
		if s.send != nil {
			s.send.Close()
		}
	})
	return nil
}

// Send queues one announce for the cluster. It is the tracker's Observe
// hook, on the announce hot path: it takes a short lock, copies one record
// into a fixed buffer and never allocates. It waits only when the sender
// has fallen a whole pool of packets behind: it then writes one itself.
func (s *Syncer) Send(n logic.News) {
	flags := Flags(&n)
	s.mu.Lock()
	s.appendLocked(TypeV6, &n, flags)
	if s.cfg.AlsoType0 && n.Peer.Addr().Unmap().Is4() {
		s.appendLocked(TypeV4, &n, flags)
	}
	s.mu.Unlock()
}

func (s *Syncer) appendLocked(typ uint32, n *logic.News, flags byte) {
	p := s.pending[typ]
	if p == nil {
		select {
		case p = <-s.free:
		default:
			// Every buffer holds a full packet (at most three are
			// partial or being written): write the oldest here.
			s.writeOldest()
			p = <-s.free // only Send takes from free, under mu
		}
		copy(p.buf[:4], s.id[:])
		binary.BigEndian.PutUint32(p.buf[4:8], typ)
		p.n = HeaderSize
		s.pending[typ] = p
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
	size := recordSize(typ)
	putRecord(p.buf[p.n:p.n+size], typ, &n.InfoHash, n.Peer, flags)
	p.n += size
	if p.n+size > MaxPacket {
		s.pending[typ] = nil
		s.full <- p // never blocks: full has room for every packet
		select {
		case s.fullNow <- struct{}{}:
		default:
		}
	}
}

// sender writes full packets at once and partial ones FlushDelay after
// their first record, in the order they were filled.
func (s *Syncer) sender() {
	defer s.done.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	for {
		select {
		case <-s.fullNow:
			for s.writeOldest() {
			}
		case <-s.kick:
			if !armed {
				timer.Reset(s.cfg.FlushDelay)
				armed = true
			}
		case <-timer.C:
			armed = false
			s.flush()
		case <-s.stop:
			timer.Stop()
			s.flush()
			return
		}
	}
}

// flush writes the queued full packets, then the partial ones.
func (s *Syncer) flush() {
	for s.writeOldest() {
	}
	s.mu.Lock()
	p4, p6 := s.pending[TypeV4], s.pending[TypeV6]
	s.pending = [2]*packet{}
	s.mu.Unlock()
	s.wmu.Lock()
	defer s.wmu.Unlock()
	for _, p := range [2]*packet{p6, p4} {
		if p != nil {
			s.emit(p)
		}
	}
}

// writeOldest writes the oldest full packet, if any, and frees its buffer.
func (s *Syncer) writeOldest() bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	select {
	case p := <-s.full:
		s.emit(p)
		return true
	default:
		return false
	}
}

// emit writes p, counts its records as sent or dropped, and frees it.
// wmu is held.
func (s *Syncer) emit(p *packet) {
	if p.n > HeaderSize {
		_, typ, _ := Header(p.buf[:p.n])
		records := uint64((p.n - HeaderSize) / recordSize(typ))
		if s.write(p.buf[:p.n]) == nil {
			s.sent.Add(1)
			s.recordsSent.Add(records)
			s.counters.SyncSent.Add(records)
		} else {
			s.recordsDropped.Add(records)
			s.counters.SyncDropped.Add(records)
		}
	}
	p.n = 0
	s.free <- p
}

// receiver applies packets until Close.
func (s *Syncer) receiver() {
	defer s.done.Done()
	buf := make([]byte, 65536)
	var sc Scratch
	for {
		n, src, err := s.recv.ReadFromUDPAddrPort(buf)
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond) // transient: do not spin
			continue
		}
		s.Handle(src.Addr(), buf[:n], &sc)
	}
}

// Scratch is the space Handle applies records in; one per receiving
// goroutine, so that applying allocates nothing.
type Scratch struct {
	req   logic.Request
	peers logic.PeerBuffer
}

// Handle applies one received packet from src and returns how many records
// it applied. Packets from outside Nodes, with our own id, of 8 bytes or
// less or of an unknown type are dropped; so is a trailing partial record.
func (s *Syncer) Handle(src netip.Addr, p []byte, sc *Scratch) int {
	id, typ, ok := Header(p)
	if !ok || id == s.id || (typ != TypeV4 && typ != TypeV6) || !s.nodes.Load().Contains(src) {
		s.rejected.Add(1)
		return 0
	}
	s.received.Add(1)
	applied := 0
	Decode(p, func(r *Record) {
		// The policy refuses what the access list does (and counts nothing:
		// applied records are counted here).
		sc.req = r.Request()
		if _, err := s.t.Announce(&sc.req, &sc.peers); err == nil {
			applied++
		}
	})
	s.counters.SyncReceived.Add(uint64(applied))
	return applied
}
