package http

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// MaxRequestBytes bounds a request head (request line and headers), the same
// 8 KiB as opentracker. A longer request gets 431 (or 414 when even the
// request line does not fit) and the connection is closed.
const MaxRequestBytes = 8192

// conn is the state of one client connection. It is pooled: a busy tracker
// reuses the read buffers of closed connections instead of allocating.
type conn struct {
	srv  *Server
	nc   net.Conn
	peer netip.AddrPort
	idle atomic.Bool // served, waiting for another request: may be closed to free a slot
	buf  [MaxRequestBytes]byte
}

var connPool = sync.Pool{New: func() any { return new(conn) }}

func newConn(s *Server, nc net.Conn) *conn {
	cn := connPool.Get().(*conn)
	cn.srv, cn.nc, cn.peer = s, nc, peerOf(nc)
	cn.idle.Store(false)
	return cn
}

func putConn(cn *conn) {
	cn.srv, cn.nc = nil, nil
	connPool.Put(cn)
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
		putConn(cn)
	}()
	start := 0   // unconsumed input is buf[start:end]
	arm := true  // the next read starts a new request: arm its deadline
	scanned := 0 // bytes of buf[start:end] searched for a terminator
	for {
		// Tolerate stray CR LF between requests (RFC 9112 §2.2).
		for start < end && (cn.buf[start] == '\r' || cn.buf[start] == '\n') {
			start++
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
				end = copy(cn.buf[:], cn.buf[start:end])
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
				cn.nc.SetReadDeadline(time.Now().Add(s.conf().IdleTimeout))
				arm = false
			}
			idle := served && end == 0
			cn.idle.Store(idle)
			if s.closing.Load() || idle && s.waiting.Load() > 0 {
				// Closing, or a new client waits for a slot and closeIdle
				// may have run before this connection became idle.
				return
			}
			m, err := cn.nc.Read(cn.buf[end:])
			cn.idle.Store(false)
			end += m
			if err != nil && m == 0 {
				return // EOF, timeout, reset or shutdown
			}
			continue
		}
		head := cn.buf[start : start+n]
		start += n
		scanned = 0
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
	if indexByte(cn.buf[:], '\n') < 0 {
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
	_, err := cn.nc.Write(b)
	return err == nil
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
