package http

import (
	"net"
	"net/netip"
	"sync/atomic"
	"time"
)

// MaxRequestBytes bounds a request head (request line and headers), the same
// 8 KiB as opentracker. A longer request gets 431 (or 414 when even the
// request line does not fit) and the connection is closed.
const MaxRequestBytes = 8192

// conn is the state of one client connection: a slot of the server's
// connection table, with its read buffer from the table's slab.
type conn struct {
	srv   *Server
	nc    net.Conn
	peer  netip.AddrPort
	buf   []byte // MaxRequestBytes
	table *connTable

	state   atomic.Int32 // stFree, stBusy, stIdle, stWaiting, stWriting
	since   atomic.Int64 // table clock when the current wait began
	evicted atomic.Bool  // the table took the slot back: close
	addr    netip.Addr   // source address counted against the per-address cap
	counted bool

	slot     int32                          // index in the table, for epoll data
	parkedFd atomic.Int32                   // socket+1 while parked in an inline acceptor (park_linux.go), else 0
	parkedIn atomic.Pointer[inlineAcceptor] // that acceptor
	parkPos  int                            // index in that acceptor's parked list
	replied  time.Time                      // set when handed off from parking mid-request: the last reply\'s time
}

// attach binds the slot cn, taken from the table, to the connection nc.
func (cn *conn) attach(s *Server, nc net.Conn, peer netip.AddrPort) {
	cn.srv, cn.nc, cn.peer = s, nc, peer
}

// serve reads requests until the client or the server ends the connection.
// Requests are handled in order, one reply per request, so pipelining works:
// bytes after one request head stay in the buffer for the next.
func (cn *conn) serve() { cn.serveFrom(0, false) }

// serveFrom is serve with buf[:end] already read from the connection; served
// tells that a request was answered on it before (it is keep-alive idle when
// it waits with nothing buffered).
func (cn *conn) serveFrom(end int, served bool) {
	s := cn.srv
	defer func() {
		cn.nc.Close()
		s.untrack(cn)
	}()
	start := 0   // unconsumed input is buf[start:end]
	arm := true  // the next read starts a new request: arm its deadline
	scanned := 0 // bytes of buf[start:end] searched for a terminator
	for {
		// Tolerate stray CR LF between requests (RFC 9112 §2.2).
		for start < end && (cn.buf[start] == '\r' || cn.buf[start] == '\n') {
			start++
		}
		if start < end && !canStartRequest(cn.buf[start]) {
			// A TLS ClientHello (tracker checkers try https first) or
			// other binary: no HTTP client sends this, so do not hold
			// the slot until the deadline.
			s.c.HTTPBadRequests.Add(1)
			return
		}
		// Resume the terminator search a few bytes before where the last
		// one stopped, so that a head trickling in is not rescanned whole.
		from := max(scanned-3, 0)
		n := headerEnd(cn.buf[start+from : end])
		if n >= 0 {
			n += from
		}
		if n < 0 {
			scanned = end - start
			if start == end {
				start, end = 0, 0
			} else if start > 0 {
				end = copy(cn.buf, cn.buf[start:end])
				start = 0
			}
			if end == len(cn.buf) {
				cn.tooLarge()
				return
			}
			if arm {
				// Each request must arrive completely within IdleTimeout of
				// the previous reply. The deadline is not extended per read,
				// so a client trickling bytes (slowloris) cannot hold a slot.
				d := time.Now().Add(s.conf().IdleTimeout)
				if !cn.replied.IsZero() {
					// Handed off from parking with part of a request: the
					// time counts from the reply before it.
					d, cn.replied = cn.replied.Add(s.conf().IdleTimeout), time.Time{}
				}
				cn.nc.SetReadDeadline(d)
			}
			st := stWaiting
			if served && end == 0 {
				st = stIdle // keep-alive idle: the first to be evicted
			}
			if !cn.wait(st, arm) || s.closing.Load() {
				return
			}
			arm = false
			m, err := cn.nc.Read(cn.buf[end:])
			end += m
			if err != nil && m == 0 {
				return // EOF, timeout, reset or shutdown
			}
			continue
		}
		head := cn.buf[start : start+n]
		start += n
		scanned = 0
		cn.state.Store(stBusy)
		keep := s.serveRequest(cn, head)
		arm, served = true, true
		if !keep || s.closing.Load() {
			if start < end {
				// Unread input (pipelined requests we will not answer, or a
				// body): close gracefully so the kernel does not answer it
				// with a reset that could destroy our reply.
				cn.lingeringClose()
			}
			return
		}
	}
}

// tooLarge answers an overlong request head and closes.
func (cn *conn) tooLarge() {
	s := cn.srv
	s.c.HTTPBadRequests.Add(1)
	status, msg := "431 Request Header Fields Too Large", "request head longer than 8192 bytes\n"
	if indexByte(cn.buf, '\n') < 0 {
		status, msg = "414 URI Too Long", "request line longer than 8192 bytes\n"
	}
	w := getWork()
	defer putWork(w)
	w.body = append(w.body[:0], msg...)
	cn.write(w, status, "text/plain", false, 0)
	cn.lingeringClose()
}

// write sends the head and w.body with one Write.
func (cn *conn) write(w *work, status, ctype string, keep bool, proto int) bool {
	w.out = appendHead(w.out[:0], status, ctype, len(w.body), keep, proto, "")
	w.out = append(w.out, w.body...)
	return cn.send(w.out)
}

func (cn *conn) send(b []byte) bool {
	cn.nc.SetWriteDeadline(time.Now().Add(cn.srv.conf().IdleTimeout))
	return cn.writeAll(b)
}

// writeAll writes b under the deadline already set. While blocked, a
// client that does not read can have its slot evicted.
func (cn *conn) writeAll(b []byte) bool {
	if !cn.wait(stWriting, true) {
		return false
	}
	_, err := cn.nc.Write(b)
	cn.state.Store(stBusy)
	return err == nil
}

// canStartRequest reports whether c may begin a request line: methods are
// tokens (RFC 9110 §5.6.2). A TLS record starts with 0x16.
func canStartRequest(c byte) bool {
	switch {
	case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}

// lingeringClose half-closes and drains what the client still sends, for a
// short while, so that our last reply reaches it before the close.
func (cn *conn) lingeringClose() {
	type closeWriter interface{ CloseWrite() error }
	cw, ok := cn.nc.(closeWriter)
	if !ok {
		return
	}
	if cw.CloseWrite() != nil {
		return
	}
	cn.nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var sink [512]byte
	for total := 0; total < 64<<10; {
		m, err := cn.nc.Read(sink[:])
		total += m
		if err != nil {
			return
		}
	}
}
