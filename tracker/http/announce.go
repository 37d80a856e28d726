package http

import (
	"net/netip"

	"github.com/opentracker-go/opentracker/tracker/bencode"
	"github.com/opentracker-go/opentracker/tracker/logic"
)

// Failure reasons. Constant strings: a failure reply allocates nothing.
const (
	reasonMissingHash = "missing info_hash"
	reasonHashLen     = "info_hash must be 20 bytes"
	reasonDoubleHash  = "info_hash given more than once"
	reasonPeerIDLen   = "peer_id must be 20 bytes"
	reasonMissingPort = "missing port"
	reasonBadPort     = "invalid port"
	reasonBadLeft     = "invalid left"
	reasonBadIP       = "invalid ip"
	reasonMalformed   = "malformed query"
)

// announce handles /announce (BEP 3, 7, 23). Differences from opentracker,
// all deliberate:
//   - port is required and must be 1..65535 (opentracker stores port 0 when
//     it is missing, an address nobody can connect to);
//   - left must be an integer when present (opentracker takes "abc" as a
//     seeder); numwant that is not a number is ignored instead of a 400;
//   - compact=0 gets a dictionary peer list (opentracker: 400). Peer ids are
//     not stored, so the dictionaries carry only "ip" and "port";
//   - every error is a bencoded failure reason with HTTP 200.
func (s *Server) announce(w *work, r *request, peer netip.AddrPort) reply {
	s.c.HTTPAnnounces.Add(1)
	w.counted = false
	req := &w.req
	*req = logic.Request{NumWant: s.conf().NumWant, Families: logic.BothFamilies}
	var (
		haveHash bool
		port     int64 = -1
		compact        = true
		ipParam  []byte
	)
	var reason string // the first problem
	wellFormed := eachParam(r.query, func(name, val []byte) bool {
		switch {
		case is(name, "info_hash"):
			switch {
			case haveHash:
				reason = reasonDoubleHash
			case len(val) != len(req.InfoHash):
				reason = reasonHashLen
			default:
				copy(req.InfoHash[:], val)
				haveHash = true
			}
		case is(name, "peer_id"):
			if len(val) != 20 {
				reason = reasonPeerIDLen
			}
		case is(name, "port"):
			n, ok := parseInt(val)
			if !ok || n < 1 || n > 65535 {
				reason = reasonBadPort
			}
			port = n
		case is(name, "left"):
			n, ok := parseInt(val)
			if !ok {
				reason = reasonBadLeft
			}
			req.Seeder = n == 0
		case is(name, "event"):
			req.Event = parseEvent(val)
		case is(name, "numwant"):
			if n, ok := parseInt(val); ok && n >= 0 {
				req.NumWant = int(min(n, int64(s.conf().MaxNumWant)))
			}
		case is(name, "compact"):
			compact = !(len(val) == 1 && val[0] == '0')
		case is(name, "ip"):
			ipParam = val
		}
		return reason == ""
	})
	switch {
	case !wellFormed:
		return s.failure(w, reasonMalformed)
	case reason != "":
		return s.failure(w, reason)
	}
	if !haveHash {
		return s.failure(w, reasonMissingHash)
	}
	if port < 0 {
		return s.failure(w, reasonMissingPort)
	}
	addr := s.clientAddr(r, peer)
	if ipParam != nil && (s.conf().IPFromQuery || s.conf().Admin.Contains(addr)) {
		a, err := netip.ParseAddr(string(ipParam))
		if err != nil || a.Zone() != "" {
			return s.failure(w, reasonBadIP)
		}
		addr = a.Unmap()
	}
	req.Peer = netip.AddrPortFrom(addr, uint16(port))
	res, err := s.t.Announce(req, &w.peers)
	s.c.Announces.Record(logic.ProtoHTTP, addr, err)
	w.counted = true
	if err != nil {
		// The policy's refusals (not authorized, tracker full) are
		// constant texts: no allocation.
		return s.failure(w, err.Error())
	}
	w.body = appendAnnounceReply(w.body[:0], &res, compact)
	return okReply(w.body)
}

func parseEvent(v []byte) logic.Event {
	switch string(v) {
	case "started":
		return logic.EventStarted
	case "stopped":
		return logic.EventStopped
	case "completed":
		return logic.EventCompleted
	case "paused":
		return logic.EventPaused
	}
	return logic.EventNone // "", "empty" and unknown values, like opentracker
}

// appendAnnounceReply writes the announce dictionary with sorted keys.
// "peers" is always present (BEP 3 clients expect it), "peers6" only when
// there are v6 peers (BEP 7).
func appendAnnounceReply(b []byte, res *logic.Result, compact bool) []byte {
	iv := int64(res.Interval)
	b = bencode.AppendDict(b)
	b = bencode.AppendKeyUint(b, "complete", uint64(res.Seeders))
	b = bencode.AppendKeyUint(b, "downloaded", uint64(res.Completed))
	b = bencode.AppendKeyUint(b, "incomplete", uint64(res.Leechers))
	b = bencode.AppendKeyInt(b, "interval", iv)
	b = bencode.AppendKeyInt(b, "min interval", iv/2)
	if !compact {
		b = bencode.AppendString(b, "peers")
		b = bencode.AppendList(b)
		b = appendDictPeers(b, res.Peers4, logic.CompactV4Size)
		b = appendDictPeers(b, res.Peers6, logic.CompactV6Size)
		b = bencode.AppendEnd(b)
		return bencode.AppendEnd(b)
	}
	b = bencode.AppendKeyBytes(b, "peers", res.Peers4)
	if len(res.Peers6) > 0 {
		b = bencode.AppendKeyBytes(b, "peers6", res.Peers6)
	}
	return bencode.AppendEnd(b)
}

// appendDictPeers writes BEP 3 peer dictionaries {"ip": text, "port": n}
// for compact records of the given size (6 or 18).
func appendDictPeers(b, compact []byte, size int) []byte {
	var text [64]byte
	for ; len(compact) >= size; compact = compact[size:] {
		var a netip.Addr
		if size == logic.CompactV4Size {
			a = netip.AddrFrom4([4]byte(compact[:4]))
		} else {
			a = netip.AddrFrom16([16]byte(compact[:16]))
		}
		port := uint64(compact[size-2])<<8 | uint64(compact[size-1])
		b = bencode.AppendDict(b)
		b = bencode.AppendKeyBytes(b, "ip", a.AppendTo(text[:0]))
		b = bencode.AppendKeyUint(b, "port", port)
		b = bencode.AppendEnd(b)
	}
	return b
}
