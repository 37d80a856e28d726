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
	j.object("peers",
		u("total", uint64(r.Store.Peers4+r.Store.Peers6)),
		u("ipv4", uint64(r.Store.Peers4)),
		u("ipv6", uint64(r.Store.Peers6)),
		u("seeders", uint64(r.Store.Seeders)),
		u("leechers", uint64(r.leechers())))
	j.uint("completed", r.Store.Completed)
	j.uint("completed_events", r.CompletedEvents)
	j.announces(r)
	j.object("scrapes",
		u("http", r.Scrapes[logic.ProtoHTTP]),
		u("udp", r.Scrapes[logic.ProtoUDP]),
		u("full", r.FullScrapes),
		u("full_bytes", r.FullScrapeBytes))
	j.refused(r)
	j.object("http",
		u("connections", r.TCPAccepts),
		u("failure_replies", r.HTTPFailures),
		u("not_found", r.HTTPNotFound),
		u("redirects", r.HTTPRedirects))
	j.object("udp",
		u("packets", r.UDPPackets),
		u("connects", r.UDPConnects),
		u("error_replies", r.UDPErrors))
	// Sizes and capacities are never negative.
	j.object("memory",
		u("budget_bytes", uint64(r.Store.BudgetBytes)),
		u("peer_arena_bytes", uint64(r.Store.ArenaBytes)),
		u("peer_arena_used_bytes", uint64(r.Store.ArenaUsedBytes)),
		u("torrent_capacity", uint64(r.Store.TorrentCapacity)),
		u("peer_capacity_ipv4", uint64(r.Store.ArenaBytes/ipv4PeerBytes)),
		u("peer_capacity_ipv6", uint64(r.Store.ArenaBytes/ipv6PeerBytes)),
		u("refused_torrents", r.Store.RefusedTorrents),
		u("refused_peers", r.Store.RefusedPeers))
	j.open("livesync")
	j.bool("enabled", r.LiveSyncOn)
	j.members(
		u("packets_sent", r.LiveSync.PacketsSent),
		u("records_sent", r.LiveSync.RecordsSent),
		u("records_dropped", r.LiveSync.RecordsDropped),
		u("packets_received", r.LiveSync.PacketsReceived),
		u("packets_rejected", r.LiveSync.PacketsRejected),
		u("peers_applied", r.SyncPeersApplied))
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

// announces writes announces by protocol, address family and outcome.
func (j *jsonWriter) announces(r *Report) {
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
}

// refused writes the refusals and the unreadable input by kind.
func (j *jsonWriter) refused(r *Report) {
	j.open("refused")
	j.uint("full", r.RefusedFull)
	j.uint("not_authorized", r.RefusedNotAuthorized)
	j.object("bad_input",
		u("http_requests", r.HTTPBadRequests),
		u("http_announces", r.Announces[logic.ProtoHTTP][0][logic.OutcomeBadInput]+r.Announces[logic.ProtoHTTP][1][logic.OutcomeBadInput]),
		u("udp_packets", r.UDPMalformed),
		u("udp_connection_ids", r.UDPMismatch))
	j.close()
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

// member is one counter of an object.
type member struct {
	k string
	v uint64
}

func u(k string, v uint64) member { return member{k, v} }

// object writes an object of counters under k.
func (j *jsonWriter) object(k string, ms ...member) {
	j.open(k)
	j.members(ms...)
	j.close()
}

// members writes counters into the open object.
func (j *jsonWriter) members(ms ...member) {
	for _, m := range ms {
		j.uint(m.k, m.v)
	}
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
