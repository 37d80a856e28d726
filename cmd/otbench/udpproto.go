//go:build linux

package main

import "encoding/binary"

// BEP 15 wire format. Every function writes into or reads from a caller's
// buffer and allocates nothing.

const (
	udpProtocolID = 0x41727101980

	actConnect  = 0
	actAnnounce = 1
	actScrape   = 2
	actError    = 3

	connectLen  = 16
	announceLen = 98
	maxScrapeN  = 74
)

// putConnect writes a connect request and returns its length.
func putConnect(b []byte, tid uint32) int {
	be := binary.BigEndian
	be.PutUint64(b[0:], udpProtocolID)
	be.PutUint32(b[8:], actConnect)
	be.PutUint32(b[12:], tid)
	return connectLen
}

// announceReq is the variable part of an announce request.
type announceReq struct {
	connID     uint64
	tid        uint32
	hash       []byte // 20 bytes
	peerID     []byte // 20 bytes
	downloaded uint64
	left       uint64
	uploaded   uint64
	event      uint32
	key        uint32
	numWant    int32
	port       uint16
}

// putAnnounce writes an announce request (98 bytes, IP field 0) and returns
// its length.
func putAnnounce(b []byte, a *announceReq) int {
	be := binary.BigEndian
	be.PutUint64(b[0:], a.connID)
	be.PutUint32(b[8:], actAnnounce)
	be.PutUint32(b[12:], a.tid)
	copy(b[16:36], a.hash)
	copy(b[36:56], a.peerID)
	be.PutUint64(b[56:], a.downloaded)
	be.PutUint64(b[64:], a.left)
	be.PutUint64(b[72:], a.uploaded)
	be.PutUint32(b[80:], a.event)
	be.PutUint32(b[84:], 0)
	be.PutUint32(b[88:], a.key)
	be.PutUint32(b[92:], uint32(a.numWant))
	be.PutUint16(b[96:], a.port)
	return announceLen
}

// putScrapeHeader writes the 16-byte scrape header; the caller appends the
// hashes at b[16+20*i:]. It returns the header length.
func putScrapeHeader(b []byte, connID uint64, tid uint32) int {
	be := binary.BigEndian
	be.PutUint64(b[0:], connID)
	be.PutUint32(b[8:], actScrape)
	be.PutUint32(b[12:], tid)
	return 16
}

// udpResp is a decoded response header.
type udpResp struct {
	action uint32
	tid    uint32
	// connect
	connID uint64
	// announce
	interval, leechers, seeders uint32
	peers                       int // number of peers in the reply
	// scrape
	entries int
	// error: the message is b[8:]
}

// parseUDPResp decodes a tracker response. stride is the peer size of the
// socket's family (6 for IPv4, 18 for IPv6). It reports false for a packet
// that is not a well-formed response.
func parseUDPResp(b []byte, stride int, r *udpResp) bool {
	if len(b) < 8 {
		return false
	}
	be := binary.BigEndian
	r.action = be.Uint32(b[0:])
	r.tid = be.Uint32(b[4:])
	switch r.action {
	case actConnect:
		if len(b) < 16 {
			return false
		}
		r.connID = be.Uint64(b[8:])
	case actAnnounce:
		if len(b) < 20 {
			// opentracker answers an announce for a torrent its access list
			// refuses with a bare 8-byte header.
			return false
		}
		r.interval = be.Uint32(b[8:])
		r.leechers = be.Uint32(b[12:])
		r.seeders = be.Uint32(b[16:])
		if (len(b)-20)%stride != 0 {
			return false
		}
		r.peers = (len(b) - 20) / stride
	case actScrape:
		if (len(b)-8)%12 != 0 {
			return false
		}
		r.entries = (len(b) - 8) / 12
	case actError:
	default:
		return false
	}
	return true
}

// scrapeEntry returns entry i of a scrape response.
func scrapeEntry(b []byte, i int) (seeders, completed, leechers uint32) {
	be := binary.BigEndian
	o := 8 + 12*i
	return be.Uint32(b[o:]), be.Uint32(b[o+4:]), be.Uint32(b[o+8:])
}
