//go:build linux

package main

import (
	"fmt"
	"net/netip"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// loadConfig drives one load run, UDP or HTTP.
type loadConfig struct {
	W           *Workload
	Targets     []netip.AddrPort // sockets/connections are spread round-robin
	Conns       int              // UDP sockets or TCP connections; each is one peer source
	Depth       int              // UDP requests in flight per socket
	Workers     int              // event loops (one OS thread each)
	Addrs       int              // distinct IPv4 source addresses (0: one per socket)
	Timeout     time.Duration    // UDP: a request unanswered this long is lost
	Duration    time.Duration
	MaxRequests uint64 // 0: no count bound
	Fill        bool   // UDP: announce each peer exactly once, numwant 0
	KeepAlive   bool   // HTTP: reuse connections
	RcvBuf      int
	Progress    func(c *counters) // optional, called by worker 0 about every second
}

func (c *loadConfig) defaults() {
	if c.Conns <= 0 {
		c.Conns = 4
	}
	if c.Depth <= 0 {
		c.Depth = 1
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Workers > c.Conns {
		c.Workers = c.Conns
	}
	if c.Addrs <= 0 {
		c.Addrs = c.Conns
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Second
	}
	if c.RcvBuf <= 0 {
		c.RcvBuf = 4 << 20
	}
}

const (
	kindAnnounce = iota + 1
	kindScrape
	kindConnect
)

type uslot struct {
	tid  uint32
	sent int64
	peer int32
	kind uint8
	busy bool
}

type usock struct {
	fd       int
	src      int // peer source index
	stride   int
	connID   uint64
	haveConn bool
	connBusy bool // a connect is in flight (slot index depth)
	connAt   int64
	slots    []uslot
	free     []int32
	gen      uint32
	tx       *msgRing
	batch    []int32 // slot of each message in the current sendmmsg batch
	// fill mode
	cursor int // next peer number k (peer = src + k*Sources)
	retry  []int32
	done   bool
}

// runUDP runs a closed-loop UDP load and returns the merged counters and the
// elapsed time.
func runUDP(cfg loadConfig) (*counters, time.Duration, error) {
	cfg.defaults()
	if cfg.W.Sources < cfg.Conns {
		return nil, 0, fmt.Errorf("workload has %d sources for %d sockets", cfg.W.Sources, cfg.Conns)
	}
	socks := make([]*usock, cfg.Conns)
	defer func() {
		for _, s := range socks {
			if s != nil {
				unix.Close(s.fd)
			}
		}
	}()
	for i := range socks {
		dst := cfg.Targets[i%len(cfg.Targets)]
		v6 := !dst.Addr().Is4()
		fd, err := openSocket(unix.SOCK_DGRAM, srcAddr(v6, i%cfg.Addrs), dst, cfg.RcvBuf)
		if err != nil {
			return nil, 0, err
		}
		s := &usock{fd: fd, src: i, stride: 6, slots: make([]uslot, cfg.Depth+1),
			free: make([]int32, 0, cfg.Depth), tx: newMsgRing(cfg.Depth+1, 1536),
			batch: make([]int32, cfg.Depth+1)}
		if v6 {
			s.stride = 18
		}
		for k := cfg.Depth - 1; k >= 0; k-- {
			s.free = append(s.free, int32(k))
		}
		socks[i] = s
	}
	results := make([]counters, cfg.Workers)
	var wg sync.WaitGroup
	start := time.Now()
	errs := make([]error, cfg.Workers)
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
			errs[wi] = udpWorker(&cfg, socks[lo:hi], quota, start, &results[wi], wi == 0)
		}(wi)
	}
	wg.Wait()
	total, err := mergeResults(results, errs)
	return total, time.Since(start), err
}

func udpWorker(cfg *loadConfig, socks []*usock, quota uint64, start time.Time, c *counters, progress bool) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer unix.Close(ep)
	for i, s := range socks {
		ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(i)}
		if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
			return err
		}
	}
	w := cfg.W
	r := rng{s: w.Seed ^ uint64(socks[0].src+1)*0x9e3779b97f4a7c15}
	rx := newMsgRing(64, 2048)
	events := make([]unix.EpollEvent, len(socks))
	deadline := int64(cfg.Duration)
	timeout := int64(cfg.Timeout)
	var lastCheck, lastProgress int64
	var resp udpResp
	sending := true
	for {
		now := int64(time.Since(start))
		if cfg.Duration > 0 && now >= deadline {
			break
		}
		if quota > 0 && c.requests >= quota {
			sending = false
		}
		inflight := 0
		allDone := true
		for _, s := range socks {
			if sending {
				udpSend(cfg, w, &r, s, now, quota, c)
			}
			inflight += len(s.slots) - 1 - len(s.free)
			if s.connBusy {
				inflight++
			}
			if !s.done {
				allDone = false
			}
		}
		if cfg.Fill && allDone {
			break
		}
		if !sending && inflight == 0 {
			break
		}
		n, err := unix.EpollWait(ep, events, 5)
		if err != nil && err != unix.EINTR {
			return err
		}
		now = int64(time.Since(start))
		for i := 0; i < n; i++ {
			s := socks[events[i].Fd]
			for {
				k, e := recvmmsg(s.fd, rx)
				if e != 0 {
					if !isAgain(e) {
						c.errors++ // ECONNREFUSED: nobody listens yet
						c.ioErrors++
					}
					break
				}
				for j := 0; j < k; j++ {
					b := rx.slot(j)[:rx.msgs[j].N]
					c.bytesIn += uint64(len(b))
					udpHandle(cfg, s, b, now, &resp, c)
				}
				if k < len(rx.msgs) {
					break
				}
			}
		}
		if now-lastCheck > int64(20*time.Millisecond) {
			lastCheck = now
			for _, s := range socks {
				udpExpire(cfg, s, now, timeout, c)
			}
			if progress && cfg.Progress != nil && now-lastProgress > int64(time.Second) {
				lastProgress = now
				cfg.Progress(c)
			}
		}
	}
	return nil
}

// udpSend fills every free slot of s with a new request and sends them in
// one sendmmsg.
func udpSend(cfg *loadConfig, w *Workload, r *rng, s *usock, now int64, quota uint64, c *counters) {
	ci := len(s.slots) - 1 // the connect slot
	if !s.haveConn || now-s.connAt > int64(60*time.Second) {
		// BEP 15: a connection id is good for a minute on the client side.
		if !s.connBusy {
			s.gen++
			tid := s.gen<<16 | uint32(ci)
			b := s.tx.slot(ci)
			n := putConnect(b, tid)
			s.tx.point(0, b[:n])
			if k, _ := sendmmsg(s.fd, s.tx, 1); k == 1 {
				s.slots[ci] = uslot{tid: tid, sent: now, kind: kindConnect, busy: true}
				s.connBusy = true
				c.requests++
			}
		}
		if !s.haveConn {
			return
		}
	}
	n := 0
	for len(s.free) > 0 {
		if quota > 0 && c.requests+uint64(n) >= quota {
			break
		}
		slot := s.free[len(s.free)-1]
		var p int32 = -1
		if cfg.Fill {
			if len(s.retry) > 0 {
				p = s.retry[len(s.retry)-1]
				s.retry = s.retry[:len(s.retry)-1]
			} else {
				pp := s.src + s.cursor*w.Sources
				if pp >= len(w.Peers) {
					break
				}
				s.cursor++
				p = int32(pp)
			}
		}
		s.free = s.free[:len(s.free)-1]
		s.gen++
		tid := s.gen<<16 | uint32(slot)
		b := s.tx.slot(int(slot))
		var ln int
		kind := uint8(kindAnnounce)
		if !cfg.Fill && w.IsScrape(r) {
			kind = kindScrape
			ln = putScrapeHeader(b, s.connID, tid)
			for j := 0; j < w.ScrapeN && j < maxScrapeN; j++ {
				copy(b[ln:ln+20], w.Hash(w.PickTorrent(r)))
				ln += 20
			}
		} else {
			a := announceReq{connID: s.connID, tid: tid, numWant: w.NumWant, key: uint32(p)}
			var seeder bool
			if cfg.Fill {
				pe := &w.Peers[p]
				a.event, seeder = evStarted, pe.flags&peerSeeder != 0
				a.numWant = 0
			} else {
				p = int32(w.PickPeer(r, s.src))
				a.event, seeder = w.NextEvent(r, int(p))
				a.key = uint32(p)
			}
			pe := &w.Peers[p]
			a.hash = w.Hash(pe.torrent)
			a.port = pe.port
			if !seeder {
				a.left = 1 << 20
			}
			ln = putAnnounce(b, &a)
			peerID(b[36:56], int(p))
		}
		s.slots[slot] = uslot{tid: tid, sent: now, peer: p, kind: kind, busy: true}
		s.tx.point(n, b[:ln])
		s.batch[n] = slot
		n++
	}
	if cfg.Fill && n == 0 && len(s.free) == len(s.slots)-1 && len(s.retry) == 0 && s.src+s.cursor*w.Sources >= len(w.Peers) {
		s.done = true
	}
	if n == 0 {
		return
	}
	k, e := sendmmsg(s.fd, s.tx, n)
	if e != 0 && !isAgain(e) {
		c.errors++
		c.ioErrors++
	}
	c.requests += uint64(k)
	// Slots not sent (a full socket buffer) go back to the free list.
	for i := k; i < n; i++ {
		slot := s.batch[i]
		sl := &s.slots[slot]
		sl.busy = false
		if cfg.Fill {
			s.retry = append(s.retry, sl.peer)
		}
		s.free = append(s.free, slot)
	}
}

func udpHandle(cfg *loadConfig, s *usock, b []byte, now int64, resp *udpResp, c *counters) {
	if len(b) < 8 {
		c.errors++
		return
	}
	tid := uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])
	slot := int(tid & 0xffff)
	if slot >= len(s.slots) || !s.slots[slot].busy || s.slots[slot].tid != tid {
		return // late answer to a request already counted as lost
	}
	sl := &s.slots[slot]
	sl.busy = false
	if sl.kind == kindConnect {
		s.connBusy = false
	} else {
		s.free = append(s.free, int32(slot))
	}
	ok := parseUDPResp(b, s.stride, resp)
	switch {
	case ok && resp.action == actConnect && sl.kind == kindConnect:
		s.connID = resp.connID
		s.haveConn = true
		s.connAt = now
		c.connects++
		c.responses++
	case ok && resp.action == actAnnounce && sl.kind == kindAnnounce:
		c.announces++
		c.responses++
		c.peers += uint64(resp.peers)
		c.lat.add(now - sl.sent)
	case ok && resp.action == actScrape && sl.kind == kindScrape:
		c.scrapes++
		c.responses++
		c.lat.add(now - sl.sent)
	case ok && resp.action == actError:
		c.errors++
		// Most likely an expired or unknown connection id: get a new one.
		if sl.kind != kindConnect {
			s.haveConn = false
		}
		if cfg.Fill && sl.kind == kindAnnounce {
			s.retry = append(s.retry, sl.peer)
		}
	default:
		c.errors++
		if sl.kind == kindAnnounce && len(b) == 8 && b[3] == actAnnounce {
			// opentracker's reply to a torrent its access list refuses
			c.refused++
		}
	}
}

func udpExpire(cfg *loadConfig, s *usock, now, timeout int64, c *counters) {
	for i := range s.slots {
		sl := &s.slots[i]
		if !sl.busy || now-sl.sent < timeout {
			continue
		}
		sl.busy = false
		c.timeouts++
		if sl.kind == kindConnect {
			s.connBusy = false
			continue
		}
		if cfg.Fill {
			s.retry = append(s.retry, sl.peer)
		}
		s.free = append(s.free, int32(i))
	}
}

// mergeResults adds up the workers' counters and returns the first error.
func mergeResults(results []counters, errs []error) (*counters, error) {
	var total counters
	for i := range results {
		total.merge(&results[i])
	}
	for _, e := range errs {
		if e != nil {
			return &total, e
		}
	}
	return &total, nil
}
