package udp

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// Error texts sent to clients.
const (
	// msgMismatch is byte for byte opentracker's, misspelling and NUL
	// included: it is what clients and their users already know.
	msgMismatch = "Connection ID missmatch.\x00"
	msgInternal = "internal tracker error"
	msgBadPort  = "invalid port"
)

// maxURLData bounds the BEP 41 URL data kept from one announce: more than
// any path plus passkey, less than a packet.
const maxURLData = 512

// outLen fits the largest reply: an announce with the most peers a cap
// allows, MaxPeersPerReply v4 ones (v6 caps are a third of that, as long).
const outLen = announceReplyLen + logic.MaxPeersPerReply*logic.CompactV4Size

// worker is one receive loop's private state. Everything a packet needs is
// here, so handling it allocates nothing and takes no lock of its own.
type worker struct {
	s *Server
	// out receives the reply: outLen bytes owned by the loop, which may
	// point it at a different buffer before each packet (batched sends).
	out   []byte
	req   logic.Request
	ann   announceReq
	url   [maxURLData]byte
	peers logic.PeerBuffer
	// batchNow is the unix time in seconds that the packets of one receive
	// batch share, set by the batched loop; 0 reads the clock per packet.
	// time.Now is two system calls on 32-bit MIPS, where Go has no vDSO:
	// per packet, they were most of the system calls a router made.
	batchNow int64
}

func newWorker(s *Server) *worker { return &worker{s: s, out: make([]byte, outLen)} }

// handle answers one datagram from src. It returns the reply, which lives in
// w.out until the next call, or nil to send nothing.
func (w *worker) handle(pkt []byte, src netip.AddrPort) []byte {
	c := w.s.stats
	c.UDPPackets.Add(1)
	// Source port 0 cannot be answered (and is always forged).
	if len(pkt) < headerLen || len(pkt) > MaxPacket || src.Port() == 0 {
		c.UDPMalformed.Add(1)
		return nil
	}
	// A dual-stack socket reports v4 clients as v4-mapped v6: they are v4
	// clients (v4 peers, 6-byte entries, the same connection id).
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	action := binary.BigEndian.Uint32(pkt[8:])
	tid := binary.BigEndian.Uint32(pkt[12:])
	now := w.batchNow
	if now == 0 {
		now = w.s.now().Unix()
	}

	switch action {
	case actionConnect:
		if binary.BigEndian.Uint64(pkt) != protocolID {
			c.UDPMalformed.Add(1)
			return nil
		}
		c.UDPConnects.Add(1)
		// 16 bytes answer at least 16: no amplification.
		return appendConnectReply(w.out[:0], tid, w.s.ids.make(src, now))
	case actionAnnounce, actionScrape:
	default:
		// Includes action 3, which only trackers send. opentracker drops
		// these silently too.
		c.UDPMalformed.Add(1)
		return nil
	}

	if !w.s.ids.valid(binary.BigEndian.Uint64(pkt), src, now) {
		c.UDPMismatch.Add(1)
		return w.unprovenError(pkt, tid, msgMismatch)
	}
	if action == actionScrape {
		return w.scrape(pkt, tid)
	}
	return w.announce(pkt, src, tid)
}

// unprovenError answers a client whose address is not proven. The reply may
// not be longer than the request, so a spoofed source cannot be flooded with
// more bytes than the attacker sends; otherwise nothing is sent.
func (w *worker) unprovenError(pkt []byte, tid uint32, msg string) []byte {
	if replyHeaderLen+len(msg) > len(pkt) {
		return nil
	}
	return w.errorReply(tid, msg)
}

func (w *worker) errorReply(tid uint32, msg string) []byte {
	w.s.stats.UDPErrors.Add(1)
	return appendError(w.out[:0], tid, msg)
}

func (w *worker) announce(pkt []byte, src netip.AddrPort, tid uint32) []byte {
	s, c := w.s, w.s.stats
	a := &w.ann
	if !parseAnnounce(pkt, a) {
		c.UDPMalformed.Add(1)
		c.Announces.Count(logic.ProtoUDP, src.Addr(), logic.OutcomeBadInput)
		return nil
	}
	// BEP 41: parsed so that malformed options cannot hurt and the URL data
	// is at hand; nothing uses it yet (no passkeys), and a broken option
	// list does not spoil the announce itself.
	parseOptions(pkt[announceLen:], w.url[:0])
	if a.port == 0 {
		// Nobody can connect to port 0: handing "addr:0" to other peers
		// only wastes their attempts. HTTP refuses it too.
		return w.errorReply(tid, msgBadPort)
	}

	r := &w.req
	r.InfoHash = logic.InfoHash(a.infoHash)
	r.Peer = netip.AddrPortFrom(src.Addr(), a.port)
	r.Event = udpEvent(a.event)
	r.Seeder = a.left == 0
	r.Families, r.NumWant = logic.V4, int(s.maxWant4.Load())
	size := logic.CompactV4Size
	if !src.Addr().Is4() {
		r.Families, r.NumWant = logic.V6, int(s.maxWant6.Load())
		size = logic.CompactV6Size
	}
	// numwant is signed: -1 asks for the default, which in UDP is the cap
	// (opentracker reads it unsigned, so every negative value means "max").
	if a.numWant >= 0 && int(a.numWant) < r.NumWant {
		r.NumWant = int(a.numWant)
	}
	if r.Event == logic.EventStopped {
		r.NumWant = 0
	}

	res, err := s.t.Announce(r, &w.peers)
	c.Announces.Record(logic.ProtoUDP, src.Addr(), err)
	if err != nil {
		return w.announceError(tid, err)
	}
	c.UDPAnnounces.Add(1)
	out := appendAnnounceReply(w.out[:0], tid, res.Interval, res.Leechers, res.Seeders)
	peers := res.Peers4
	if size == logic.CompactV6Size {
		peers = res.Peers6
	}
	// Trust but bound: never more than asked for, never past w.out.
	if limit := r.NumWant * size; len(peers) > limit {
		peers = peers[:limit]
	}
	return append(out, peers...)
}

// announceError answers the policy's refusals with their texts, which are
// built once: refusing allocates nothing.
func (w *worker) announceError(tid uint32, err error) []byte {
	if err != logic.ErrNotAuthorized && !errors.Is(err, logic.ErrFull) {
		w.s.logf("udp: announce: %v", err)
		return w.errorReply(tid, msgInternal)
	}
	return w.errorReply(tid, err.Error())
}

func (w *worker) scrape(pkt []byte, tid uint32) []byte {
	s := w.s
	s.stats.UDPScrapes.Add(1)
	out := appendHeader(w.out[:0], actionScrape, tid)
	n := scrapeCount(pkt)
	for i := 0; i < n; i++ {
		off := headerLen + i*hashLen
		// Unknown torrents answer zeros. The access list is not consulted,
		// as in opentracker: a refused hash has no swarm and scrapes as zeros.
		cnt, _ := s.t.Scrape(logic.InfoHash(pkt[off : off+hashLen]))
		out = appendScrapeEntry(out, cnt.Seeders, cnt.Completed, cnt.Leechers)
	}
	return out
}

// udpEvent maps BEP 15's event numbers; unknown values count as none.
func udpEvent(e uint32) logic.Event {
	switch e {
	case 1:
		return logic.EventCompleted
	case 2:
		return logic.EventStarted
	case 3:
		return logic.EventStopped
	}
	return logic.EventNone
}
