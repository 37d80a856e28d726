package http

import (
	"strconv"
	"sync"

	"github.com/opentracker-go/opentracker/tracker/bencode"
	"github.com/opentracker-go/opentracker/tracker/logic"
)

// work is the scratch space of one request being handled: peer output for
// the store, the reply body and the full response. It is pooled per request,
// not per connection, so idle keep-alive connections do not hold ~16 KiB
// each; only requests in flight (about GOMAXPROCS) do.
type work struct {
	peers  logic.PeerBuffer
	req    logic.Request
	hashes [maxScrapeHashes]logic.InfoHash
	body   []byte
	out    []byte

	counted bool // the announce in hand reached the tracker and was counted
}

var workPool = sync.Pool{New: func() any {
	return &work{body: make([]byte, 0, 4096), out: make([]byte, 0, 4096+256)}
}}

func getWork() *work { return workPool.Get().(*work) }

// putWork returns w to the pool unless a huge reply (stats, say) grew its
// buffers: those are left to the GC rather than pinned forever.
func putWork(w *work) {
	if cap(w.body) > 64<<10 || cap(w.out) > 64<<10 {
		return
	}
	workPool.Put(w)
}

// reply describes the response to one request. body is usually w.body.
type reply struct {
	status string // "200 OK"
	ctype  string
	extra  string // more header lines, each ending in CR LF
	body   []byte
	close  bool // close the connection after this reply
}

const ctypeText = "text/plain"

func okReply(body []byte) reply { return reply{status: "200 OK", ctype: ctypeText, body: body} }

// failure answers an announce or scrape error: HTTP 200 with a bencoded
// "failure reason", the only form BitTorrent clients show to users.
func (s *Server) failure(w *work, reason string) reply {
	s.c.HTTPFailures.Add(1)
	w.body = bencode.AppendFailure(w.body[:0], reason)
	return okReply(w.body)
}

// plain answers a non-tracker error with a short text body.
func plain(w *work, status, msg string) reply {
	w.body = append(append(w.body[:0], msg...), '\n')
	return reply{status: status, ctype: ctypeText, body: w.body}
}

// appendHead appends a response head. Replies are always HTTP/1.1, which an
// HTTP/1.0 client accepts; keep-alive is announced to HTTP/1.0 clients that
// asked for it, and "Connection: close" is sent whenever we will close.
func appendHead(dst []byte, status, ctype string, n int, keep bool, proto int, extra string) []byte {
	dst = append(dst, "HTTP/1.1 "...)
	dst = append(dst, status...)
	dst = append(dst, "\r\nContent-Type: "...)
	dst = append(dst, ctype...)
	dst = append(dst, "\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, "\r\n"...)
	if !keep {
		dst = append(dst, "Connection: close\r\n"...)
	} else if proto == 10 {
		dst = append(dst, "Connection: keep-alive\r\n"...)
	}
	dst = append(dst, extra...)
	return append(dst, "\r\n"...)
}
