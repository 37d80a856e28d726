package http

import (
	"errors"
	"net"
	"net/netip"

	"github.com/opentracker-go/opentracker/tracker/stats"
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
	cn.nc.SetWriteDeadline(deadlineFor(len(big), s.cfg.IdleTimeout))
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
	var rep reply
	switch {
	case !parseRequest(head, &r):
		s.c.HTTPBadRequests.Add(1)
		rep = plain(w, "400 Bad Request", "malformed request line")
		rep.close = true
	case !is(r.method, "GET"):
		// A tracker only answers GET; a body we would have to skip makes
		// framing guesswork, so the connection is closed.
		s.c.HTTPBadRequests.Add(1)
		rep = plain(w, "405 Method Not Allowed", "only GET is supported")
		rep.extra = "Allow: GET\r\n"
		rep.close = true
	default:
		rep = s.route(w, &r, peer)
	}
	keep = r.keepAlive && !rep.close
	w.out = appendHead(w.out[:0], rep.status, rep.ctype, len(rep.body), keep, r.proto, rep.extra)
	if len(rep.body) > 16<<10 {
		return rep.body, keep
	}
	w.out = append(w.out, rep.body...)
	return nil, keep
}

// route dispatches on the decoded path.
//
// Routing follows opentracker where it matters to existing torrents: any path
// starting with "/a" is an announce ("/announce", "/announce.php"), any path
// starting with "/sc" is a scrape ("/scrape", "/scrape.php"). The stats path
// is matched exactly and first, so unlike opentracker it may start with "a".
// "/" redirects when Redirect is set; everything else is 404.
func (s *Server) route(w *work, r *request, peer netip.AddrPort) reply {
	p := r.path
	switch {
	case string(p) == s.cfg.StatsPath:
		return s.stats(w, r, peer)
	case len(p) >= 2 && p[1] == 'a':
		return s.announce(w, r, peer)
	case len(p) >= 3 && p[1] == 's' && p[2] == 'c':
		if len(r.query) == 0 {
			return s.fullScrape(w, r, peer)
		}
		return s.scrape(w, r)
	case len(p) == 1 && r.query == nil && s.cfg.Redirect != "":
		s.c.HTTPRedirects.Add(1)
		rep := plain(w, "302 Found", "redirecting")
		rep.extra = "Location: " + s.cfg.Redirect + "\r\n"
		return rep
	}
	s.c.HTTPNotFound.Add(1)
	return plain(w, "404 Not Found", "not found")
}

// clientAddr is the address a request speaks for: the TCP peer, or, when
// the peer is a trusted proxy, the address its X-Forwarded-For chain names
// (forwardedClient).
func (s *Server) clientAddr(r *request, peer netip.AddrPort) netip.Addr {
	addr := peer.Addr().Unmap()
	if r.xff && s.cfg.Proxies.Contains(addr) {
		addr = forwardedClient(r.headers, addr, s.cfg.Proxies)
	}
	return addr
}

// stats serves the statistics page to Admin networks only (403 otherwise).
func (s *Server) stats(w *work, r *request, peer netip.AddrPort) reply {
	if !s.cfg.Admin.Contains(s.clientAddr(r, peer)) {
		return plain(w, "403 Forbidden", "stats are for admin networks only")
	}
	mode, format := "", ""
	it := queryIter{rest: r.query}
	for {
		name, val, ok, bad := it.next()
		if !ok {
			break
		}
		if bad {
			return plain(w, "400 Bad Request", "malformed query")
		}
		switch {
		case is(name, "mode"):
			mode = string(val)
		case is(name, "format"):
			format = string(val)
		case is(name, "info_hash"):
			// Like opentracker HEAD: a client using the stats URL as its
			// announce URL gets a clear error rather than a stats page.
			return plain(w, "400 Bad Request", "this is the stats page, not an announce URL")
		}
	}
	body, err := stats.Render(w.body[:0], mode, format, s.store, s.c)
	if err != nil {
		if errors.Is(err, stats.ErrUnknownMode) {
			return plain(w, "400 Bad Request", err.Error())
		}
		s.cfg.Logf("http: stats mode=%q: %v", mode, err)
		return plain(w, "500 Internal Server Error", "stats failed")
	}
	w.body = body
	return okReply(body)
}
