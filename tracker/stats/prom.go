package stats

import "strconv"

// PromContentType is the media type of the Prometheus text format.
const PromContentType = "text/plain; version=0.0.4; charset=utf-8"

// AppendProm appends the Prometheus text exposition of r (format 0.0.4):
// every family with # HELP and # TYPE, counters ending in _total. Written by
// hand into dst, without a client library: flash on a router is small.
func AppendProm(dst []byte, r *Report) []byte {
	m := promWriter{b: dst}
	m.head("opentracker_info", "gauge", "The running tracker; its version is the label.")
	m.b = append(m.b, "opentracker_info{version="...)
	m.b = appendPromLabel(m.b, r.Version)
	m.b = append(m.b, "} 1\n"...)
	m.gauge("opentracker_uptime_seconds", "Seconds since the daemon started.", r.UptimeSeconds)
	m.gauge("opentracker_torrents", "Torrents held.", int64(r.Store.Torrents))
	m.gauge("opentracker_torrent_capacity", "Torrents the memory budget has room for.", int64(r.Store.TorrentCapacity))

	m.head("opentracker_peers", "gauge", "Peers held, by address family.")
	m.sampleInt("opentracker_peers", `family="ipv4"`, int64(r.Store.Peers4))
	m.sampleInt("opentracker_peers", `family="ipv6"`, int64(r.Store.Peers6))
	m.gauge("opentracker_seeders", "Peers that have the whole torrent.", int64(r.Store.Seeders))
	m.gauge("opentracker_leechers", "Peers still downloading.", int64(r.leechers()))
	m.gauge("opentracker_torrents_completed", "Sum of the completed counts of the torrents held (falls when torrents expire).", int64(r.Store.Completed))
	m.counter("opentracker_completed_events_total", "Completed events accepted.", r.CompletedEvents)

	m.head("opentracker_announces_total", "counter", "Announces by protocol, client address family and result.")
	for p := range r.Announces {
		for f := range r.Announces[p] {
			for res, n := range r.Announces[p][f] {
				m.b = append(m.b, "opentracker_announces_total{proto=\""...)
				m.b = append(m.b, protoNames[p]...)
				m.b = append(m.b, "\",family=\""...)
				m.b = append(m.b, familyNames[f]...)
				m.b = append(m.b, "\",result=\""...)
				m.b = append(m.b, resultNames[res]...)
				m.b = append(m.b, "\"} "...)
				m.b = strconv.AppendUint(m.b, n, 10)
				m.b = append(m.b, '\n')
			}
		}
	}
	m.head("opentracker_scrapes_total", "counter", "Scrape requests by protocol.")
	m.sample("opentracker_scrapes_total", `proto="http"`, r.Scrapes[HTTP])
	m.sample("opentracker_scrapes_total", `proto="udp"`, r.Scrapes[UDP])
	m.counter("opentracker_full_scrapes_total", "Full scrapes served.", r.FullScrapes)
	m.counter("opentracker_full_scrape_bytes_total", "Bytes of full scrape replies.", r.FullScrapeBytes)

	m.head("opentracker_refused_total", "counter", "Announces refused, by reason.")
	m.sample("opentracker_refused_total", `reason="full"`, r.RefusedFull)
	m.sample("opentracker_refused_total", `reason="not_authorized"`, r.RefusedNotAuthorized)
	m.head("opentracker_bad_input_total", "counter", "Requests dropped or refused as unreadable, by kind.")
	m.sample("opentracker_bad_input_total", `kind="http_request"`, r.HTTPBadRequests)
	m.sample("opentracker_bad_input_total", `kind="udp_packet"`, r.UDPMalformed)
	m.sample("opentracker_bad_input_total", `kind="udp_connection_id"`, r.UDPMismatch)

	m.counter("opentracker_http_connections_total", "TCP connections accepted.", r.TCPAccepts)
	m.counter("opentracker_http_failure_replies_total", "Announce and scrape replies carrying a failure reason.", r.HTTPFailures)
	m.counter("opentracker_http_not_found_total", "Requests for unknown paths.", r.HTTPNotFound)
	m.counter("opentracker_http_redirects_total", "Redirects of GET /.", r.HTTPRedirects)
	m.counter("opentracker_udp_packets_total", "UDP packets received.", r.UDPPackets)
	m.counter("opentracker_udp_connects_total", "UDP connect requests answered.", r.UDPConnects)
	m.counter("opentracker_udp_error_replies_total", "UDP error packets sent.", r.UDPErrors)

	m.gauge("opentracker_memory_budget_bytes", "Memory allocated at start for torrents and peers.", r.Store.BudgetBytes)
	m.gauge("opentracker_peer_arena_bytes", "Part of the budget holding peer lists.", r.Store.ArenaBytes)
	m.gauge("opentracker_peer_arena_used_bytes", "Peer arena handed out to peer lists.", r.Store.ArenaUsedBytes)
	m.head("opentracker_store_refused_total", "counter", "Torrents and peers refused because the budget was full.")
	m.sample("opentracker_store_refused_total", `kind="torrent"`, r.Store.RefusedTorrents)
	m.sample("opentracker_store_refused_total", `kind="peer"`, r.Store.RefusedPeers)

	on := int64(0)
	if r.LiveSyncOn {
		on = 1
	}
	m.gauge("opentracker_livesync_enabled", "1 when live sync is on.", on)
	m.counter("opentracker_livesync_packets_sent_total", "Live sync packets sent.", r.LiveSync.PacketsSent)
	m.counter("opentracker_livesync_records_dropped_total", "Live sync records dropped because the sender fell behind.", r.LiveSync.RecordsDropped)
	m.counter("opentracker_livesync_packets_received_total", "Live sync packets received from cluster nodes.", r.LiveSync.PacketsReceived)
	m.counter("opentracker_livesync_packets_rejected_total", "Live sync packets rejected (not a node, our own, short, unknown type).", r.LiveSync.PacketsRejected)
	m.counter("opentracker_livesync_peers_applied_total", "Peer records from live sync applied.", r.SyncPeersApplied)

	m.gauge("opentracker_access_list_entries", "Info hashes in the access list at its last load.", r.AccessEntries)
	m.gauge("opentracker_access_list_loaded_timestamp_seconds", "Unix time of the access list's last good load (0: never).", r.AccessReloaded)
	m.counter("opentracker_access_list_reload_failures_total", "Access list reloads that failed (the old list stayed).", r.AccessReloadFailures)
	return m.b
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

func (m *promWriter) sampleInt(name, labels string, v int64) {
	m.name(name, labels)
	m.b = strconv.AppendInt(m.b, v, 10)
	m.b = append(m.b, '\n')
}

func (m *promWriter) counter(name, help string, v uint64) {
	m.head(name, "counter", help)
	m.sample(name, "", v)
}

func (m *promWriter) gauge(name, help string, v int64) {
	m.head(name, "gauge", help)
	m.sampleInt(name, "", v)
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
