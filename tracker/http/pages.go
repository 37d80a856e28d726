package http

import (
	"net/netip"
	"strconv"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// metricsPath serves the Prometheus text format, the path Prometheus
// scrapes by default.
const metricsPath = "/metrics"

const (
	ctypeJSON = "application/json"
	ctypeHTML = "text/html; charset=utf-8"
	ctypeProm = "text/plain; version=0.0.4; charset=utf-8" // Prometheus text format
	// Pages that change with every request; browsers polling them (the
	// LuCI status view) must not be handed a cached copy.
	noStore = "Cache-Control: no-store\r\n"
)

// SetUDPPorts tells the landing page which ports answer UDP announces.
func (s *Server) SetUDPPorts(ports []uint16) { s.udpPorts.Store(&ports) }

// countBadAnnounce counts an announce refused before it reached the
// tracker (a missing or malformed parameter), by the client's family.
func (s *Server) countBadAnnounce(w *work, r *request, peer netip.AddrPort) {
	if !w.counted {
		s.c.Announces.Count(logic.ProtoHTTP, s.clientAddr(r, peer), logic.OutcomeBadInput)
	}
}

// statsReply is the reply for a rendered stats page: mode=json is JSON and
// mode=prom the Prometheus text format, neither cached; the rest plain text.
func statsReply(mode string, body []byte) reply {
	rep := okReply(body)
	switch mode {
	case "json":
		rep.ctype, rep.extra = ctypeJSON, noStore
	case "prom":
		rep.ctype, rep.extra = ctypeProm, noStore
	}
	return rep
}

// metrics serves /metrics, the stats page's mode=prom, where Prometheus
// looks by default; to Admin networks only.
func (s *Server) metrics(w *work, r *request, peer netip.AddrPort) reply {
	if !s.conf().Admin.Contains(s.clientAddr(r, peer)) {
		return plain(w, "403 Forbidden", "metrics are for admin networks only")
	}
	body, err := s.conf().Stats.Render(w.body[:0], "prom", "")
	if err != nil {
		s.conf().Logf("http: metrics: %v", err)
		return plain(w, "500 Internal Server Error", "metrics failed")
	}
	w.body = body
	return statsReply("prom", body)
}

// landing answers "GET /" when no redirect is set: what this is, its
// announce URLs, and for admin networks the statistics links, so that a
// browser pointed at the tracker gets more than a bare 404.
func (s *Server) landing(w *work, r *request, peer netip.AddrPort) reply {
	host, name := "HOST", "HOST"
	if validHost(r.host) {
		host, name = string(r.host), hostName(string(r.host))
	}
	b := append(w.body[:0], `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>BitTorrent tracker</title></head>
<body>
<h1>BitTorrent tracker</h1>
<p>This is a BitTorrent tracker (opentracker-go). It tells BitTorrent clients about each other's addresses; it holds no files and has no search. To use it, add an announce URL to a torrent:</p>
<ul>
<li>HTTP: <code id="http">http://`...)
	b = appendHTML(b, host)
	b = append(b, "/announce</code></li>\n"...)
	if p := s.udpPorts.Load(); p != nil {
		for _, port := range *p {
			b = append(b, `<li>UDP: <code class="udp">udp://`...)
			b = appendHTML(b, name)
			b = append(b, ':')
			b = strconv.AppendUint(b, uint64(port), 10)
			b = append(b, "/announce</code></li>\n"...)
		}
	}
	b = append(b, "</ul>\n"...)
	if s.conf().Stats != nil && s.conf().Admin.Contains(s.clientAddr(r, peer)) {
		sp := s.conf().StatsPath
		b = append(b, `<p>Statistics (shown to admin networks only): <a id="json" href="`...)
		b = appendHTML(b, sp)
		b = append(b, `?mode=json">JSON</a>, <a id="prom" href="/metrics">Prometheus</a>, <a href="`...)
		b = appendHTML(b, sp)
		b = append(b, "?mode=everything\">XML</a>.</p>\n"...)
	}
	b = append(b, "</body></html>\n"...)
	w.body = b
	return reply{status: "200 OK", ctype: ctypeHTML, body: b}
}

// validHost accepts a Host header of a name, IPv4 or bracketed IPv6
// address and an optional port: nothing else reaches the page.
func validHost(h []byte) bool {
	if len(h) == 0 || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '-', c == ':', c == '[', c == ']':
		default:
			return false
		}
	}
	return true
}

// hostName is a Host header without its port: "[::1]:6969" -> "[::1]",
// "router.lan:6969" -> "router.lan".
func hostName(h string) string {
	if h[0] == '[' {
		for i := range h {
			if h[i] == ']' {
				return h[:i+1]
			}
		}
		return h
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i] == ':' {
			return h[:i]
		}
	}
	return h
}

// appendHTML appends s with HTML's special characters escaped.
func appendHTML(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			dst = append(dst, "&lt;"...)
		case '>':
			dst = append(dst, "&gt;"...)
		case '&':
			dst = append(dst, "&amp;"...)
		case '"':
			dst = append(dst, "&#34;"...)
		case '\'':
			dst = append(dst, "&#39;"...)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
