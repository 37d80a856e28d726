package http

import (
	"errors"
	"net"
	"net/netip"
)

// serveRequest answers one request head and reports whether the connection
// stays open.
func (s *Server) serveRequest(cn *conn, head []byte) bool {
	w := getWork()
	defer putWork(w)
	big, keep := s.respond(w, head, cn.peer)
	if big == nil {
		return cn.send(w.out) && keep // one write per reply
	}
	// Big bodies (full scrape, stats) are not copied: writev head and body.
	bufs := net.Buffers{w.out, big}
	cn.nc.SetWriteDeadline(deadlineFor(len(big), s.conf().IdleTimeout))
	if !cn.wait(stWriting, true) {
		return false
	}
	_, err := bufs.WriteTo(cn.nc)
	cn.state.Store(stBusy)
	return err == nil && keep
}

// respond handles one request head from peer and leaves the response in
// w.out, except that a body over 16 KiB is returned as big and not copied.
// keep reports whether the connection stays open. This is the whole request
// path without socket I/O; the compact announce allocates nothing here.
func (s *Server) respond(w *work, head []byte, peer netip.AddrPort) (big []byte, keep bool) {
	var r request
	return s.answer(w, &r, s.route(head, &r), peer)
}

// answer is respond for a request that route has parsed.
func (s *Server) answer(w *work, r *request, rt route, peer netip.AddrPort) (big []byte, keep bool) {
	rep := s.dispatch(w, r, rt, peer)
	keep = r.keepAlive && !rep.close
	w.out = appendHead(w.out[:0], rep.status, rep.ctype, len(rep.body), keep, r.proto, rep.extra)
	if len(rep.body) > 16<<10 {
		return rep.body, keep
	}
	w.out = append(w.out, rep.body...)
	return nil, keep
}

// route is what a request asks for.
type route uint8

const (
	routeNotFound route = iota
	routeMalformed
	routeMethod // not GET
	routeStats
	routeAnnounce
	routeScrape
	routeFullScrape
	routeRedirect
	routeMetrics
	routeLanding
)

// small reports whether the route's reply is small and cheap: worth
// answering on the accepting goroutine (see inlineAcceptor).
func (rt route) small() bool { return rt == routeAnnounce || rt == routeScrape }

// route parses head into r and picks its route. It is the one routing
// rule of both the inline path and the connection goroutines, and it
// changes nothing in head, so that a request the inline path does not
// answer is parsed again by a goroutine.
//
// Routing follows opentracker where it matters to existing torrents, on
// the %-decoded path: any path starting with "/a" is an announce
// ("/announce", "/announce.php"), any path starting with "/sc" is a scrape
// ("/scrape", "/scrape.php"), and a scrape with no query at all is a full
// scrape. The stats path is matched exactly and first, so unlike
// opentracker it may start with "a". "/" redirects when Redirect is set and
// is the landing page otherwise; "/metrics" is the Prometheus page;
// everything else is 404.
func (s *Server) route(head []byte, r *request) route {
	switch {
	case !parseRequest(head, r):
		return routeMalformed
	case !is(r.method, "GET"):
		return routeMethod
	}
	p := r.path
	switch {
	case s.conf().Stats != nil && pathIs(p, s.conf().StatsPath, false):
		return routeStats
	case pathIs(p, "/a", true):
		return routeAnnounce
	case pathIs(p, "/sc", true):
		if len(r.query) == 0 {
			return routeFullScrape
		}
		return routeScrape
	case pathIs(p, "/", false) && r.query == nil && s.conf().Redirect != "":
		return routeRedirect
	case s.conf().Stats != nil && pathIs(p, metricsPath, false):
		return routeMetrics
	case pathIs(p, "/", false) && s.conf().Redirect == "":
		return routeLanding
	}
	return routeNotFound
}

// dispatch answers r on route rt.
func (s *Server) dispatch(w *work, r *request, rt route, peer netip.AddrPort) reply {
	switch rt {
	case routeMalformed:
		s.c.HTTPBadRequests.Add(1)
		rep := plain(w, "400 Bad Request", "malformed request line")
		rep.close = true
		return rep
	case routeMethod:
		// A tracker only answers GET; a body we would have to skip makes
		// framing guesswork, so the connection is closed.
		s.c.HTTPBadRequests.Add(1)
		rep := plain(w, "405 Method Not Allowed", "only GET is supported")
		rep.extra = "Allow: GET\r\n"
		rep.close = true
		return rep
	case routeStats:
		return s.stats(w, r, peer)
	case routeAnnounce:
		rep := s.announce(w, r, peer)
		s.countBadAnnounce(w, r, peer)
		return rep
	case routeScrape:
		return s.scrape(w, r)
	case routeFullScrape:
		return s.fullScrape(w, r, peer)
	case routeRedirect:
		s.c.HTTPRedirects.Add(1)
		rep := plain(w, "302 Found", "redirecting")
		rep.extra = "Location: " + s.conf().Redirect + "\r\n"
		return rep
	case routeMetrics:
		return s.metrics(w, r, peer)
	case routeLanding:
		return s.landing(w, r, peer)
	}
	s.c.HTTPNotFound.Add(1)
	return plain(w, "404 Not Found", "not found")
}

// clientAddr is the address a request speaks for: the TCP peer, or, when
// the peer is a trusted proxy, the address its X-Forwarded-For chain names
// (forwardedClient).
func (s *Server) clientAddr(r *request, peer netip.AddrPort) netip.Addr {
	addr := peer.Addr().Unmap()
	if r.xff && s.conf().Proxies.Contains(addr) {
		addr = forwardedClient(r.headers, addr, s.conf().Proxies)
	}
	return addr
}

// stats serves the statistics page to Admin networks only (403 otherwise).
func (s *Server) stats(w *work, r *request, peer netip.AddrPort) reply {
	if !s.conf().Admin.Contains(s.clientAddr(r, peer)) {
		return plain(w, "403 Forbidden", "stats are for admin networks only")
	}
	mode, format := "", ""
	announceURL := false
	wellFormed := eachParam(r.query, func(name, val []byte) bool {
		switch {
		case is(name, "mode"):
			mode = string(val)
		case is(name, "format"):
			format = string(val)
		case is(name, "info_hash"):
			announceURL = true
			return false
		}
		return true
	})
	switch {
	case !wellFormed:
		return plain(w, "400 Bad Request", "malformed query")
	case announceURL:
		// Like opentracker HEAD: a client using the stats URL as its
		// announce URL gets a clear error rather than a stats page.
		return plain(w, "400 Bad Request", "this is the stats page, not an announce URL")
	}
	body, err := s.conf().Stats.Render(w.body[:0], mode, format)
	if err != nil {
		var client interface{ BadRequest() bool }
		if errors.As(err, &client) && client.BadRequest() {
			return plain(w, "400 Bad Request", err.Error())
		}
		s.conf().Logf("http: stats mode=%q: %v", mode, err)
		return plain(w, "500 Internal Server Error", "stats failed")
	}
	w.body = body
	return statsReply(mode, body)
}
