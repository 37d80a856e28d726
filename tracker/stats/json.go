package stats

import (
	"strconv"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// AppendJSON appends /stats?mode=json: one JSON object, documented key by
// key in docs/stats-json.md. It is written by hand into dst, so a page
// allocates nothing beyond dst's growth.
func AppendJSON(dst []byte, r *Report) []byte {
	j := jsonWriter{b: dst}
	j.open("")
	j.str("version", r.Version)
	j.int("uptime_seconds", r.UptimeSeconds)
	j.int("torrents", int64(r.Store.Torrents))
	j.open("peers")
	j.int("total", int64(r.Store.Peers4+r.Store.Peers6))
	j.int("ipv4", int64(r.Store.Peers4))
	j.int("ipv6", int64(r.Store.Peers6))
	j.int("seeders", int64(r.Store.Seeders))
	j.int("leechers", int64(r.leechers()))
	j.close()
	j.uint("completed", r.Store.Completed)
	j.uint("completed_events", r.CompletedEvents)

	j.open("announces")
	for p := range r.Announces {
		j.open(protoNames[p])
		for f := range r.Announces[p] {
			j.open(familyNames[f])
			for res, n := range r.Announces[p][f] {
				j.uint(outcomeNames[res], n)
			}
			j.close()
		}
		j.close()
	}
	j.close()
	j.open("scrapes")
	j.uint("http", r.Scrapes[logic.ProtoHTTP])
	j.uint("udp", r.Scrapes[logic.ProtoUDP])
	j.uint("full", r.FullScrapes)
	j.uint("full_bytes", r.FullScrapeBytes)
	j.close()

	j.open("refused")
	j.uint("full", r.RefusedFull)
	j.uint("not_authorized", r.RefusedNotAuthorized)
	j.open("bad_input")
	j.uint("http_requests", r.HTTPBadRequests)
	j.uint("http_announces", r.Announces[logic.ProtoHTTP][0][logic.OutcomeBadInput]+r.Announces[logic.ProtoHTTP][1][logic.OutcomeBadInput])
	j.uint("udp_packets", r.UDPMalformed)
	j.uint("udp_connection_ids", r.UDPMismatch)
	j.close()
	j.close()

	j.open("http")
	j.uint("connections", r.TCPAccepts)
	j.uint("failure_replies", r.HTTPFailures)
	j.uint("not_found", r.HTTPNotFound)
	j.uint("redirects", r.HTTPRedirects)
	j.close()
	j.open("udp")
	j.uint("packets", r.UDPPackets)
	j.uint("connects", r.UDPConnects)
	j.uint("error_replies", r.UDPErrors)
	j.close()

	j.open("memory")
	j.int("budget_bytes", r.Store.BudgetBytes)
	j.int("peer_arena_bytes", r.Store.ArenaBytes)
	j.int("peer_arena_used_bytes", r.Store.ArenaUsedBytes)
	j.int("torrent_capacity", int64(r.Store.TorrentCapacity))
	j.int("peer_capacity_ipv4", r.Store.ArenaBytes/ipv4PeerBytes)
	j.int("peer_capacity_ipv6", r.Store.ArenaBytes/ipv6PeerBytes)
	j.uint("refused_torrents", r.Store.RefusedTorrents)
	j.uint("refused_peers", r.Store.RefusedPeers)
	j.close()

	j.open("livesync")
	j.bool("enabled", r.LiveSyncOn)
	j.uint("packets_sent", r.LiveSync.PacketsSent)
	j.uint("records_sent", r.LiveSync.RecordsSent)
	j.uint("records_dropped", r.LiveSync.RecordsDropped)
	j.uint("packets_received", r.LiveSync.PacketsReceived)
	j.uint("packets_rejected", r.LiveSync.PacketsRejected)
	j.uint("peers_applied", r.SyncPeersApplied)
	j.close()

	j.open("access")
	j.str("mode", r.AccessMode)
	j.int("entries", r.AccessEntries)
	j.int("last_reload", r.AccessReloaded)
	j.uint("reload_failures", r.AccessReloadFailures)
	j.close()
	j.close()
	return append(j.b, '\n')
}

// A peer record's size in the arena (address, port, timestamp and flags):
// the arena holds at most this many peers of one family.
const (
	ipv4PeerBytes = 8
	ipv6PeerBytes = 20
)

// jsonWriter appends an object's members, placing the commas.
type jsonWriter struct {
	b     []byte
	comma bool // a member precedes: the next one needs a comma
}

func (j *jsonWriter) key(k string) {
	if j.comma {
		j.b = append(j.b, ',')
	}
	j.comma = true
	if k != "" {
		j.b = appendJSONString(j.b, k)
		j.b = append(j.b, ':')
	}
}

func (j *jsonWriter) open(k string) {
	j.key(k)
	j.b = append(j.b, '{')
	j.comma = false
}

func (j *jsonWriter) close() {
	j.b = append(j.b, '}')
	j.comma = true
}

func (j *jsonWriter) uint(k string, v uint64) {
	j.key(k)
	j.b = strconv.AppendUint(j.b, v, 10)
}

func (j *jsonWriter) int(k string, v int64) {
	j.key(k)
	j.b = strconv.AppendInt(j.b, v, 10)
}

func (j *jsonWriter) bool(k string, v bool) {
	j.key(k)
	j.b = strconv.AppendBool(j.b, v)
}

func (j *jsonWriter) str(k, v string) {
	j.key(k)
	j.b = appendJSONString(j.b, v)
}

// appendJSONString quotes s, escaping what JSON requires (quote,
// backslash, control characters); other bytes pass as they are.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c < 0x20 || c == 0x7f:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
