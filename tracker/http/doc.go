// Package http is the tracker's HTTP front end: a small HTTP/1.0 and 1.1
// server written on raw TCP, because net/http allocates per request and
// makes a router binary more than twice as big. It must not import net/http.
//
// It parses requests and writes replies; the tracker's policy (access list,
// refusals, counting, the interval) is logic.Tracker's, and the /stats pages
// come from Config.Stats. One routing rule (route) serves the inline path
// and the connection goroutines; announce.go and scrape.go parse their
// queries with eachParam and write bencode.
//
// # Connections
//
// Each connection has an 8 KiB read buffer from the connection table (see
// below) and, unless the inline path serves it (Linux, below), a goroutine. Request
// heads (request line and headers) longer than 8 KiB get 414 (the request
// line alone is too long) or 431 and the connection is closed. Request bodies
// are never read: a request that announces one is answered and closed.
// HTTP/1.1 connections stay open unless the client sends "Connection: close";
// HTTP/1.0 ones only with "Connection: keep-alive"; heads without a version
// (opentracker accepts "GET /x\n\n") are answered and closed. Pipelined
// requests are answered in order, one Write per reply.
//
// On Linux, connections are taken with raw accept4 in Serve (listeners made
// with sock.Options.DeferAccept, as the daemon's are, queue a connection
// once its request has arrived)
// and a first request that is already complete and is an announce or a query
// scrape is answered inline on the raw socket (read, write, close, all raw
// syscalls), sparing clients that connect per request the goroutine and
// poller set-up. A connection that stays open (keep-alive) is then parked
// in the accept loop's epoll set, and its later announces and scrapes are
// answered the same way by the same loop, without a goroutine, a poller
// wake-up or deadlines per request (park_linux.go). Anything else continues
// on a connection goroutine with the bytes already read (see inlineAcceptor
// and Inline). A client that connects and sends nothing is accepted after
// about 3 s; IdleTimeout then applies as usual. One loop per listener
// answers all of that listener's inline requests, as opentracker's one
// event loop answers all of its.
//
// A first byte that cannot begin a request line (a method is a token: a TLS
// ClientHello starts with 0x16) closes the connection at once.
//
// IdleTimeout (default 30 s) bounds both the wait for the next request and
// the time a client may take to send one complete head: the deadline is not
// extended per read, so a client trickling bytes cannot hold a slot longer.
// A parked connection is closed by the loop's sweep, within a quarter of
// IdleTimeout (at most a second) after it ran out.
//
// # Connection table
//
// MaxConnections (default 1024) slots, each with its read buffer, are
// allocated once by NewServer (connTable) and counted in /stats?mode=store:
// whatever clients send, connection buffers never take more. A free slot
// is reused last-freed first, so that only about as many buffers as
// connections open at once are ever touched (resident). When every
// slot is taken, a new connection does not wait: it evicts the connection
// that has waited longest, keep-alive idle ones first, then ones whose
// request has not arrived whole, then ones blocked writing to a client that
// does not read; connections answering a request are never evicted, and
// none younger than evictGrace (50 ms), so a client accepted just before its
// request arrived is not lost to the next one. A client address other than
// a trusted proxy holds at most MaxPerAddress (default 64) connections: one
// more evicts its own oldest waiting connection, or, when all of them are
// answering requests, is refused with 503. Held connections therefore cost
// attackers their own connections, not other clients' answers.
//
// # Routing
//
// As in opentracker, on the %-decoded path: the stats path (exact, checked
// first) is /stats; any path starting with "/a" is an announce ("/announce",
// "/announce.php"); any path starting with "/sc" is a scrape, and a scrape
// with no query at all is a full scrape; "/" without a query redirects (302)
// to Config.Redirect when set. Everything else is 404.
//
// # Status codes
//
//   - 200: every announce and scrape reply, including refusals, which carry
//     a bencoded "failure reason" (BitTorrent clients only show the reason of
//     a 200 reply; opentracker sends an HTML 400 for most bad input).
//   - 302: "GET /" with a redirect configured.
//   - 400: a malformed request line; on /stats an unknown mode or format, a
//     malformed query, or an info_hash (a client using the stats URL as its
//     announce URL).
//   - 403: /stats from outside the Admin networks.
//   - 404: any other path.
//   - 405: a method other than GET (connection closed).
//   - 414, 431: request head over 8 KiB (connection closed).
//   - 500: /stats rendering failed.
//
// # Access
//
// /stats and full scrape are for Admin networks only (opentracker lets
// anyone full scrape; on a router it costs memory and CPU), and full scrape
// also needs Config.FullScrape; others get a failure reason. The client
// address is the TCP peer; when the peer is in Proxies, the rightmost
// X-Forwarded-For address that is not itself in Proxies (values further left
// may be forged by the client); the announce "ip" parameter when IPFromQuery
// is set or the client is in Admin.
//
// # Allocation
//
// The compact announce path (parse in place, store, reply into a pooled work
// buffer) allocates nothing; so do scrapes and failure replies.
// TestAnnounceZeroAlloc and TestAnnounceZeroAllocSocket check it.
package http
