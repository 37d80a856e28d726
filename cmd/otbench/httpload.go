//go:build linux

package main

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opentracker-go/opentracker/tracker/sock"
)

const (
	hIdle = iota
	hConnecting
	hWriting
	hReading
	hDraining // reply complete, waiting for the server's FIN
)

type hconn struct {
	fd      int
	idx     int
	src     int
	state   uint8
	kind    uint8
	reused  bool // the request went out on a connection that already served one
	retried bool
	wbuf    []byte
	woff    int
	rbuf    []byte
	rlen    int
	sent    int64
	since   int64 // when the current state began
	resp    httpResp
	head    bool
}

type hworker struct {
	cfg    *loadConfig
	ep     int
	conns  []*hconn
	r      rng
	c      *counters
	quota  uint64
	events []unix.EpollEvent
}

// runHTTP runs a closed-loop HTTP load: every connection slot always has one
// request outstanding.
func runHTTP(cfg loadConfig) (*counters, time.Duration, error) {
	cfg.defaults()
	results := make([]counters, cfg.Workers)
	errs := make([]error, cfg.Workers)
	var wg sync.WaitGroup
	start := time.Now()
	for wi := 0; wi < cfg.Workers; wi++ {
		lo, hi := wi*cfg.Conns/cfg.Workers, (wi+1)*cfg.Conns/cfg.Workers
		quota := uint64(0)
		if cfg.MaxRequests > 0 {
			quota = cfg.MaxRequests / uint64(cfg.Workers)
			if wi == 0 {
				quota += cfg.MaxRequests % uint64(cfg.Workers)
			}
		}
		wg.Add(1)
		go func(wi int) {
			defer wg.Done()
			errs[wi] = httpWorker(&cfg, lo, hi, quota, start, &results[wi], wi == 0)
		}(wi)
	}
	wg.Wait()
	total, err := mergeResults(results, errs)
	return total, time.Since(start), err
}

func httpWorker(cfg *loadConfig, lo, hi int, quota uint64, start time.Time, c *counters, progress bool) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(ep)
	h := &hworker{cfg: cfg, ep: ep, c: c, quota: quota,
		r: rng{s: cfg.W.Seed ^ uint64(lo+7)*0x9e3779b97f4a7c15}, events: make([]unix.EpollEvent, hi-lo)}
	for i := lo; i < hi; i++ {
		h.conns = append(h.conns, &hconn{fd: -1, idx: i - lo, src: i,
			wbuf: make([]byte, 0, 4096), rbuf: make([]byte, 64<<10)})
	}
	defer func() {
		for _, hc := range h.conns {
			if hc.fd >= 0 {
				unix.Close(hc.fd)
			}
		}
	}()
	timeout := int64(cfg.Timeout)
	var lastCheck, lastProgress int64
	sending := true
	for {
		now := int64(time.Since(start))
		if cfg.Duration > 0 && now >= int64(cfg.Duration) {
			break
		}
		if quota > 0 && c.requests >= quota {
			sending = false
		}
		busy := 0
		for _, hc := range h.conns {
			if hc.state == hIdle && sending {
				h.start(hc, now)
			}
			if hc.state != hIdle {
				busy++
			}
		}
		if !sending && busy == 0 {
			break
		}
		n, err := unix.EpollWait(ep, h.events, 5)
		if err != nil && err != unix.EINTR {
			return err
		}
		now = int64(time.Since(start))
		for i := 0; i < n; i++ {
			hc := h.conns[h.events[i].Fd]
			ev := h.events[i].Events
			switch hc.state {
			case hConnecting, hWriting:
				if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
					h.write(hc, now)
				}
			case hReading, hDraining:
				h.read(hc, now)
			}
		}
		if now-lastCheck > int64(20*time.Millisecond) {
			lastCheck = now
			for _, hc := range h.conns {
				if hc.state == hDraining && now-hc.since > int64(200*time.Millisecond) {
					h.closeConn(hc) // no FIN from the server; stop waiting
				} else if hc.state != hIdle && now-hc.sent > timeout {
					c.timeouts++
					h.closeConn(hc)
				}
			}
			if progress && cfg.Progress != nil && now-lastProgress > int64(time.Second) {
				lastProgress = now
				cfg.Progress(c)
			}
		}
	}
	return nil
}

func (h *hworker) closeConn(hc *hconn) {
	if hc.fd >= 0 {
		unix.Close(hc.fd) // also removes it from the epoll set
	}
	hc.fd = -1
	hc.state = hIdle
}

// build writes the next request into hc.wbuf.
func (h *hworker) build(hc *hconn) {
	w := h.cfg.W
	hc.wbuf = hc.wbuf[:0]
	if w.IsScrape(&h.r) {
		hc.kind = kindScrape
		hc.wbuf = appendScrapeStart(hc.wbuf)
		for j := 0; j < w.ScrapeN; j++ {
			hc.wbuf = appendScrapeHash(hc.wbuf, j == 0, w.Hash(w.PickTorrent(&h.r)))
		}
		hc.wbuf = appendHTTPTail(hc.wbuf, !h.cfg.KeepAlive)
		return
	}
	hc.kind = kindAnnounce
	p := w.PickPeer(&h.r, hc.src)
	ev, seeder := w.NextEvent(&h.r, p)
	a := httpAnnounce{hash: w.Hash(w.Peers[p].torrent), peer: p, port: w.Peers[p].port,
		event: ev, numWant: w.NumWant, close: !h.cfg.KeepAlive}
	if !seeder {
		a.left = 1 << 20
	}
	hc.wbuf = appendAnnounce(hc.wbuf, &a)
}

// start sends a new request on hc, opening a connection if it has none.
func (h *hworker) start(hc *hconn, now int64) {
	if h.quota > 0 && h.c.requests >= h.quota {
		return
	}
	h.build(hc)
	hc.sent = now
	hc.retried = false
	h.send(hc, now)
}

func (h *hworker) send(hc *hconn, now int64) {
	hc.woff, hc.rlen, hc.head = 0, 0, false
	h.c.requests++
	if hc.fd >= 0 {
		hc.reused = true
		hc.state = hWriting
		h.write(hc, now)
		return
	}
	hc.reused = false
	dst := h.cfg.Targets[hc.src%len(h.cfg.Targets)]
	fd, err := openSocket(unix.SOCK_STREAM, srcAddr(!dst.Addr().Is4(), hc.src%h.cfg.Addrs), dst, 0)
	if err != nil {
		h.c.errors++
		return
	}
	hc.fd = fd
	h.c.reconnects++
	if err := unix.Connect(fd, sock.Sockaddr(dst)); err != nil && err != unix.EINPROGRESS {
		h.c.errors++
		h.closeConn(hc)
		return
	}
	ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLIN, Fd: int32(hc.idx)}
	if err := unix.EpollCtl(h.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		h.c.errors++
		h.closeConn(hc)
		return
	}
	hc.state = hConnecting
	hc.since = now
}

func (h *hworker) write(hc *hconn, now int64) {
	if hc.state == hConnecting {
		if e, _ := unix.GetsockoptInt(hc.fd, unix.SOL_SOCKET, unix.SO_ERROR); e != 0 {
			h.c.errors++
			h.closeConn(hc)
			return
		}
		hc.state = hWriting
	}
	for hc.woff < len(hc.wbuf) {
		n, err := unix.Write(hc.fd, hc.wbuf[hc.woff:])
		if err == unix.EAGAIN {
			ev := unix.EpollEvent{Events: unix.EPOLLOUT | unix.EPOLLIN, Fd: int32(hc.idx)}
			_ = unix.EpollCtl(h.ep, unix.EPOLL_CTL_MOD, hc.fd, &ev)
			return
		}
		if err != nil {
			h.failed(hc, now)
			return
		}
		hc.woff += n
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(hc.idx)}
	_ = unix.EpollCtl(h.ep, unix.EPOLL_CTL_MOD, hc.fd, &ev)
	hc.state = hReading
	hc.since = now
}

// failed handles a connection that broke before a reply. A request sent on a
// reused connection that the server had already closed (opentracker closes
// after every reply) is sent again once on a new connection.
func (h *hworker) failed(hc *hconn, now int64) {
	reused := hc.reused && hc.rlen == 0 && !hc.retried
	h.closeConn(hc)
	if reused {
		h.c.closes++
		h.c.requests--
		hc.retried = true
		h.send(hc, now)
		return
	}
	h.c.errors++
}

func (h *hworker) read(hc *hconn, now int64) {
	for {
		if hc.rlen == len(hc.rbuf) {
			if hc.head && hc.resp.contentLen < 0 {
				// Body until EOF: count it and reuse the buffer.
				h.c.bytesIn += uint64(hc.rlen - hc.resp.headLen)
				hc.rlen = hc.resp.headLen
			} else {
				h.c.errors++ // reply larger than the buffer
				h.closeConn(hc)
				return
			}
		}
		n, err := unix.Read(hc.fd, hc.rbuf[hc.rlen:])
		if err == unix.EAGAIN {
			return
		}
		if hc.state == hDraining {
			// Anything but more data ends the wait for the server's close.
			h.closeConn(hc)
			return
		}
		if err != nil || n == 0 {
			if hc.head && hc.resp.contentLen < 0 && !hc.resp.chunked && err == nil {
				h.done(hc, now, hc.rlen, true)
				return
			}
			h.failed(hc, now)
			return
		}
		hc.rlen += n
		if !hc.head {
			complete, bad := parseHTTPHead(hc.rbuf[:hc.rlen], &hc.resp)
			if bad {
				h.c.errors++
				h.closeConn(hc)
				return
			}
			if !complete {
				continue
			}
			hc.head = true
		}
		if hc.resp.contentLen >= 0 && hc.rlen >= hc.resp.headLen+hc.resp.contentLen {
			h.done(hc, now, hc.resp.headLen+hc.resp.contentLen, false)
			return
		}
	}
}

// done accounts a complete reply of end bytes and moves hc on.
func (h *hworker) done(hc *hconn, now int64, end int, eof bool) {
	c := h.c
	body := hc.rbuf[hc.resp.headLen:end]
	c.bytesIn += uint64(end)
	ok := hc.resp.status == 200
	if ok {
		if hc.kind == kindAnnounce {
			var peers int
			peers, ok = announceBody(body)
			if ok {
				c.announces++
				c.peers += uint64(peers)
			}
		} else {
			_, ok = scrapeBody(body)
			if ok {
				c.scrapes++
			}
		}
	}
	if ok {
		c.responses++
		c.lat.add(now - hc.sent)
	} else {
		c.errors++
		c.refused++
	}
	switch {
	case eof:
		h.closeConn(hc)
	case !h.cfg.KeepAlive || hc.resp.close:
		// Wait for the server's FIN so that the TIME_WAIT state stays on its
		// side, as with real clients of a closing server.
		hc.state = hDraining
		hc.since = now
		h.read(hc, now)
	default:
		// Keep-alive: a server that closes anyway (opentracker without
		// WANT_KEEPALIVE) shows as an immediate EOF.
		n, err := unix.Read(hc.fd, hc.rbuf[:1])
		if err == unix.EAGAIN {
			hc.state = hIdle
			return
		}
		if n == 0 || err != nil {
			c.closes++
		} else {
			c.errors++ // unexpected extra bytes
		}
		h.closeConn(hc)
	}
}
