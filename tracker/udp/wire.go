package udp

import "encoding/binary"

// BEP 15 wire constants. All integers are big-endian.
const (
	protocolID = 0x41727101980 // magic in the connect request

	actionConnect  = 0
	actionAnnounce = 1
	actionScrape   = 2
	actionError    = 3

	headerLen        = 16 // connection id (or magic), action, transaction id
	replyHeaderLen   = 8  // action, transaction id
	connectReplyLen  = 16 // header + connection id
	announceLen      = 98 // fixed part of an announce request
	announceReplyLen = 20 // header + interval, leechers, seeders
	scrapeEntryLen   = 12 // seeders, completed, leechers
	hashLen          = 20

	// MaxScrapeHashes is the most hashes one scrape answers: BEP 15 says
	// "up to about 74" (16+20*74 = 1496 bytes).
	MaxScrapeHashes = 74

	// MaxPacket is the longest request handled; longer ones are dropped. The
	// largest useful request is a full scrape (1496 bytes); BEP 41 URL data
	// adds at most a few hundred bytes to the 98-byte announce.
	MaxPacket = 2048
)

// Offsets inside an announce request (BEP 15).
const (
	offInfoHash = 16
	offPeerID   = 36
	offLeft     = 64
	offEvent    = 80
	offIP       = 84
	offNumWant  = 92
	offPort     = 96
)

// BEP 41 option types.
const (
	optEnd     = 0
	optNOP     = 1
	optURLData = 2
)

// announceReq is the part of an announce request the tracker uses.
type announceReq struct {
	infoHash [hashLen]byte
	left     uint64
	event    uint32
	numWant  int32
	port     uint16
}

// parseAnnounce decodes the fixed 98 bytes of an announce; the caller has
// checked the header. It reports false when the packet is too short.
func parseAnnounce(b []byte, a *announceReq) bool {
	if len(b) < announceLen {
		return false
	}
	copy(a.infoHash[:], b[offInfoHash:offInfoHash+hashLen])
	a.left = binary.BigEndian.Uint64(b[offLeft:])
	a.event = binary.BigEndian.Uint32(b[offEvent:])
	a.numWant = int32(binary.BigEndian.Uint32(b[offNumWant:]))
	a.port = binary.BigEndian.Uint16(b[offPort:])
	return true
}

// parseOptions walks BEP 41 options (the bytes after the 98-byte announce)
// and appends the URLData chunks to dst, never growing it past cap(dst).
// Unknown types carry a length byte and are skipped. ok is false when an
// option runs past the end of the packet; what was read up to there is kept.
func parseOptions(b, dst []byte) (url []byte, ok bool) {
	for i := 0; i < len(b); {
		t := b[i]
		switch t {
		case optEnd:
			return dst, true
		case optNOP:
			i++
			continue
		}
		if i+1 >= len(b) {
			return dst, false
		}
		n := int(b[i+1])
		i += 2
		if i+n > len(b) {
			return dst, false
		}
		if t == optURLData {
			chunk := b[i : i+n]
			if room := cap(dst) - len(dst); len(chunk) > room {
				chunk = chunk[:room]
			}
			dst = append(dst, chunk...)
		}
		i += n
	}
	return dst, true
}

// scrapeCount is how many whole hashes a scrape request carries, capped.
func scrapeCount(b []byte) int {
	n := (len(b) - headerLen) / hashLen
	if n < 0 {
		return 0
	}
	return min(n, MaxScrapeHashes)
}

func appendHeader(dst []byte, action, tid uint32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, action)
	return binary.BigEndian.AppendUint32(dst, tid)
}

func appendConnectReply(dst []byte, tid uint32, id uint64) []byte {
	dst = appendHeader(dst, actionConnect, tid)
	return binary.BigEndian.AppendUint64(dst, id)
}

func appendAnnounceReply(dst []byte, tid, interval, leechers, seeders uint32) []byte {
	dst = appendHeader(dst, actionAnnounce, tid)
	dst = binary.BigEndian.AppendUint32(dst, interval)
	dst = binary.BigEndian.AppendUint32(dst, leechers)
	return binary.BigEndian.AppendUint32(dst, seeders)
}

func appendScrapeEntry(dst []byte, seeders, completed, leechers uint32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, seeders)
	dst = binary.BigEndian.AppendUint32(dst, completed)
	return binary.BigEndian.AppendUint32(dst, leechers)
}

func appendError(dst []byte, tid uint32, msg string) []byte {
	dst = appendHeader(dst, actionError, tid)
	return append(dst, msg...)
}
