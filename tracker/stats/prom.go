package stats

import (
	"strconv"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// AppendProm appends the Prometheus text exposition of r (format 0.0.4):
// every family with # HELP and # TYPE, counters ending in _total. Written by
// hand into dst, without a client library: flash on a router is small.
func AppendProm(dst []byte, r *Report) []byte {
	m := promWriter{b: dst}
	m.head("opentracker_info", "gauge", "The running tracker; its version is the label.")
	m.b = append(m.b, "opentracker_info{version="...)
	m.b = appendPromLabel(m.b, r.Version)
	m.b = append(m.b, "} 1\n"...)
	on := uint64(0)
	if r.LiveSyncOn {
		on = 1
	}
	// One row per sample; consecutive rows of one name form a family. A
	// table keeps the code small (flash), and it lives on the stack.
	const g, c = "gauge", "counter"
	rows := [...]promRow{
		{"opentracker_uptime_seconds", g, "Seconds since the daemon started.", "", uint64(r.UptimeSeconds)},
		{"opentracker_torrents", g, "Torrents held.", "", uint64(r.Store.Torrents)},
		{"opentracker_torrent_capacity", g, "Torrents the memory budget has room for.", "", uint64(r.Store.TorrentCapacity)},
		{"opentracker_peers", g, "Peers held, by address family.", `family="ipv4"`, uint64(r.Store.Peers4)},
		{"opentracker_peers", g, "", `family="ipv6"`, uint64(r.Store.Peers6)},
		{"opentracker_seeders", g, "Peers that have the whole torrent.", "", uint64(r.Store.Seeders)},
		{"opentracker_leechers", g, "Peers still downloading.", "", uint64(r.leechers())},
		{"opentracker_torrents_completed", g, "Sum of the completed counts of the torrents held (falls when torrents expire).", "", r.Store.Completed},
		{"opentracker_completed_events_total", c, "Completed events accepted.", "", r.CompletedEvents},
		{"opentracker_scrapes_total", c, "Scrape requests by protocol.", `proto="http"`, r.Scrapes[logic.ProtoHTTP]},
		{"opentracker_scrapes_total", c, "", `proto="udp"`, r.Scrapes[logic.ProtoUDP]},
		{"opentracker_full_scrapes_total", c, "Full scrapes served.", "", r.FullScrapes},
		{"opentracker_full_scrape_bytes_total", c, "Bytes of full scrape replies.", "", r.FullScrapeBytes},
		{"opentracker_refused_total", c, "Announces refused, by reason.", `reason="full"`, r.RefusedFull},
		{"opentracker_refused_total", c, "", `reason="not_authorized"`, r.RefusedNotAuthorized},
		{"opentracker_bad_input_total", c, "Requests dropped or refused as unreadable, by kind.", `kind="http_request"`, r.HTTPBadRequests},
		{"opentracker_bad_input_total", c, "", `kind="udp_packet"`, r.UDPMalformed},
		{"opentracker_bad_input_total", c, "", `kind="udp_connection_id"`, r.UDPMismatch},
		{"opentracker_http_connections_total", c, "TCP connections accepted.", "", r.TCPAccepts},
		{"opentracker_http_failure_replies_total", c, "Announce and scrape replies carrying a failure reason.", "", r.HTTPFailures},
		{"opentracker_http_not_found_total", c, "Requests for unknown paths.", "", r.HTTPNotFound},
		{"opentracker_http_redirects_total", c, "Redirects of GET /.", "", r.HTTPRedirects},
		{"opentracker_udp_packets_total", c, "UDP packets received.", "", r.UDPPackets},
		{"opentracker_udp_connects_total", c, "UDP connect requests answered.", "", r.UDPConnects},
		{"opentracker_udp_error_replies_total", c, "UDP error packets sent.", "", r.UDPErrors},
		{"opentracker_memory_budget_bytes", g, "Memory allocated at start for torrents and peers.", "", uint64(r.Store.BudgetBytes)},
		{"opentracker_peer_arena_bytes", g, "Part of the budget holding peer lists.", "", uint64(r.Store.ArenaBytes)},
		{"opentracker_peer_arena_used_bytes", g, "Peer arena handed out to peer lists.", "", uint64(r.Store.ArenaUsedBytes)},
		{"opentracker_store_refused_total", c, "Torrents and peers refused because the budget was full.", `kind="torrent"`, r.Store.RefusedTorrents},
		{"opentracker_store_refused_total", c, "", `kind="peer"`, r.Store.RefusedPeers},
		{"opentracker_livesync_enabled", g, "1 when live sync is on.", "", on},
		{"opentracker_livesync_packets_sent_total", c, "Live sync packets sent.", "", r.LiveSync.PacketsSent},
		{"opentracker_livesync_records_sent_total", c, "Live sync peer records sent.", "", r.LiveSync.RecordsSent},
		{"opentracker_livesync_records_dropped_total", c, "Live sync peer records not sent: their packet's write failed.", "", r.LiveSync.RecordsDropped},
		{"opentracker_livesync_packets_received_total", c, "Live sync packets received from cluster nodes.", "", r.LiveSync.PacketsReceived},
		{"opentracker_livesync_packets_rejected_total", c, "Live sync packets rejected (not a node, our own, short, unknown type).", "", r.LiveSync.PacketsRejected},
		{"opentracker_livesync_peers_applied_total", c, "Peer records from live sync applied.", "", r.SyncPeersApplied},
		{"opentracker_access_list_entries", g, "Info hashes in the access list at its last load.", "", uint64(r.AccessEntries)},
		{"opentracker_access_list_loaded_timestamp_seconds", g, "Unix time of the access list's last good load (0: never).", "", uint64(r.AccessReloaded)},
		{"opentracker_access_list_reload_failures_total", c, "Access list reloads that failed (the old list stayed).", "", r.AccessReloadFailures},
	}
	for i := range rows {
		row := &rows[i]
		if i == 0 || rows[i-1].name != row.name {
			m.head(row.name, row.typ, row.help)
		}
		m.sample(row.name, row.labels, row.v)
	}

	m.head("opentracker_announces_total", "counter", "Announces by protocol, client address family and result.")
	for p := range r.Announces {
		for f := range r.Announces[p] {
			for res, n := range r.Announces[p][f] {
				m.b = append(m.b, "opentracker_announces_total{proto=\""...)
				m.b = append(m.b, protoNames[p]...)
				m.b = append(m.b, "\",family=\""...)
				m.b = append(m.b, familyNames[f]...)
				m.b = append(m.b, "\",result=\""...)
				m.b = append(m.b, outcomeNames[res]...)
				m.b = append(m.b, "\"} "...)
				m.b = strconv.AppendUint(m.b, n, 10)
				m.b = append(m.b, '\n')
			}
		}
	}
	return m.b
}

// promRow is one sample of AppendProm's table; help is read from the first
// row of each family.
type promRow struct {
	name, typ, help, labels string
	v                       uint64
}

type promWriter struct{ b []byte }

func (m *promWriter) head(name, typ, help string) {
	m.b = append(m.b, "# HELP "...)
	m.b = append(m.b, name...)
	m.b = append(m.b, ' ')
	m.b = append(m.b, help...)
	m.b = append(m.b, "\n# TYPE "...)
	m.b = append(m.b, name...)
	m.b = append(m.b, ' ')
	m.b = append(m.b, typ...)
	m.b = append(m.b, '\n')
}

func (m *promWriter) name(name, labels string) {
	m.b = append(m.b, name...)
	if labels != "" {
		m.b = append(m.b, '{')
		m.b = append(m.b, labels...)
		m.b = append(m.b, '}')
	}
	m.b = append(m.b, ' ')
}

func (m *promWriter) sample(name, labels string, v uint64) {
	m.name(name, labels)
	m.b = strconv.AppendUint(m.b, v, 10)
	m.b = append(m.b, '\n')
}

// appendPromLabel quotes a label value: backslash, double quote and line
// feed are escaped, as the text format requires.
func appendPromLabel(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '"':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
