// Package livesync is opentracker's live sync (WANT_SYNC_LIVE): trackers of
// a cluster tell each other about announces over IPv4 UDP multicast, so that
// a peer announced to one tracker is handed out by all of them. A Syncer
// sends what logic.Tracker observes as news and applies received records
// through the same Tracker, so the access list and the budget apply alike.
//
// Wire format (interoperable with upstream opentracker HEAD and 2021):
//
//	header:  tracker id [4] (random, compared for equality only) | type [4] (big endian)
//	type 0:  records of 28 bytes: info_hash[20] | ipv4[4] | port[2] BE | flags | age
//	type 1:  records of 40 bytes: info_hash[20] | ipv6[16] | port[2] BE | flags | age
//	flags:   0x80 seeding, 0x40 completed, 0x20 stopped; age is sent as 0
//
// Packets go to 224.0.23.5:9696 with TTL 1 and are at most 1480 bytes.
//
// Sending IPv4 peers: upstream HEAD receivers mangle type 0 records (they
// copy the 8-byte v4 peer into the start of a v6 peer, so every synced v4
// peer becomes a garbage v6 address with port 0 and stops are added as
// peers), while they handle type 1 records carrying v4-mapped addresses
// (::ffff:a.b.c.d) correctly. So IPv4 peers are sent as type 1 records with
// v4-mapped addresses only. Sending type 0 as well would poison HEAD
// receivers with garbage peers; it only helps 2021-era v4 builds, which know
// type 0 only: Config.AlsoType0 turns that on for such clusters.
//
// Receiving decodes both types: type 0 as IPv4 peers, type 1 as IPv6 peers,
// v4-mapped ones as IPv4 peers. (2021-era IPv6 builds sent 40-byte records
// under type 0; those are not understood.)
package livesync

import (
	"encoding/binary"
	"net/netip"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// Wire constants.
const (
	Port       = 9696 // packets are always sent to this port
	MaxPacket  = 1480 // no packet is longer
	HeaderSize = 8

	TypeV4 = 0 // 28-byte records, IPv4 peers
	TypeV6 = 1 // 40-byte records, IPv6 (and v4-mapped) peers

	RecordV4Size = 28
	RecordV6Size = 40

	FlagSeeding   = 0x80
	FlagCompleted = 0x40
	FlagStopped   = 0x20
)

// Group is the multicast group of upstream's code (its comments and sample
// config name other groups; the code uses this one).
var Group = netip.AddrFrom4([4]byte{224, 0, 23, 5})

// MaxRecords is how many records of a type fit in one packet: 52 of type 0
// and 36 of type 1 (upstream HEAD overflows its buffer with the 37th).
func MaxRecords(typ uint32) int {
	return (MaxPacket - HeaderSize) / recordSize(typ)
}

func recordSize(typ uint32) int {
	if typ == TypeV4 {
		return RecordV4Size
	}
	return RecordV6Size
}

// Flags is the flags byte for an announce the store reported as news.
// Completed is only sent together with seeding: upstream clears completed
// without seeding before sending.
func Flags(n *logic.News) byte {
	var f byte
	if n.Seeder {
		f |= FlagSeeding
		if n.Event == logic.EventCompleted {
			f |= FlagCompleted
		}
	}
	if n.Event == logic.EventStopped {
		f |= FlagStopped
	}
	return f
}

// putRecord writes one record of type typ into b, which must be long enough.
func putRecord(b []byte, typ uint32, h *logic.InfoHash, peer netip.AddrPort, flags byte) {
	copy(b[:20], h[:])
	a := peer.Addr()
	if typ == TypeV4 {
		ip := a.Unmap().As4()
		copy(b[20:24], ip[:])
		binary.BigEndian.PutUint16(b[24:26], peer.Port())
		b[26], b[27] = flags, 0
		return
	}
	ip := a.As16() // v4-mapped for an IPv4 address
	copy(b[20:36], ip[:])
	binary.BigEndian.PutUint16(b[36:38], peer.Port())
	b[38], b[39] = flags, 0
}

// Record is one decoded peer record.
type Record struct {
	InfoHash logic.InfoHash
	Peer     netip.AddrPort // v4-mapped addresses come out as IPv4
	Flags    byte
	Age      byte
}

// Request is the announce that applies r on a receiving tracker.
func (r *Record) Request() logic.Request {
	req := logic.Request{InfoHash: r.InfoHash, Peer: r.Peer,
		Seeder: r.Flags&FlagSeeding != 0, FromSync: true}
	switch {
	case r.Flags&FlagStopped != 0:
		req.Event = logic.EventStopped
	case r.Flags&(FlagCompleted|FlagSeeding) == FlagCompleted|FlagSeeding:
		req.Event = logic.EventCompleted
	}
	return req
}

// Header splits a packet's header; ok is false for packets of 8 bytes or
// less, which carry nothing.
func Header(p []byte) (id [4]byte, typ uint32, ok bool) {
	if len(p) <= HeaderSize {
		return id, 0, false
	}
	copy(id[:], p[:4])
	return id, binary.BigEndian.Uint32(p[4:8]), true
}

// Decode calls fn for each whole record of a packet of a known type and
// returns how many it saw; a trailing partial record is ignored. It returns
// -1 for short packets and unknown types.
func Decode(p []byte, fn func(*Record)) int {
	_, typ, ok := Header(p)
	if !ok || (typ != TypeV4 && typ != TypeV6) {
		return -1
	}
	size := recordSize(typ)
	var r Record
	n := 0
	for b := p[HeaderSize:]; len(b) >= size; b = b[size:] {
		copy(r.InfoHash[:], b[:20])
		if typ == TypeV4 {
			r.Peer = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[20:24])), binary.BigEndian.Uint16(b[24:26]))
			r.Flags, r.Age = b[26], b[27]
		} else {
			a := netip.AddrFrom16([16]byte(b[20:36])).Unmap()
			r.Peer = netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[36:38]))
			r.Flags, r.Age = b[38], b[39]
		}
		fn(&r)
		n++
	}
	return n
}
