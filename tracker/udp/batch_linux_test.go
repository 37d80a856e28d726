package udp

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A batch of requests shares one clock reading: time.Now costs two system
// calls per packet on 32-bit MIPS. Requests queued before the server starts
// arrive in one receive batch.
func TestBatchReadsClockOncePerBatch(t *testing.T) {
	s, _ := newTestServer(t, Config{Workers: 1}, nil)
	var reads atomic.Int64
	s.now = func() time.Time { reads.Add(1); return time.Now() }
	bound, err := s.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, netip.AddrFrom4([4]byte{127, 0, 3, 1}), bound)
	const n = batchSize
	for i := 0; i < n; i++ {
		if _, err := c.conn.WriteToUDPAddrPort(connectPkt(uint32(i)), bound); err != nil {
			t.Fatal(err)
		}
	}
	s.Start()
	t.Cleanup(func() { s.Close() })
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	for i := 0; i < n; i++ {
		if _, _, err := c.conn.ReadFromUDPAddrPort(c.buf[:]); err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
	}
	if got := reads.Load(); got != 1 {
		t.Errorf("%d connects in one batch read the clock %d times, want once", n, got)
	}
}

// Many clients with several requests in flight fill whole batches: every
// request is answered, each reply goes to its own sender (the batch keeps
// names, buffers and replies apart), and garbage in a batch is skipped.
func TestBatchFullBatches(t *testing.T) {
	_, bound := startServerIO(t, Config{Workers: 1}, false, "127.0.0.1:0")
	h := hashOf("batch")
	const clients, rounds, depth = 8, 20, 6
	var wg sync.WaitGroup
	errs := make(chan string, clients)
	for i := 0; i < clients; i++ {
		c := dial(t, netip.AddrFrom4([4]byte{127, 0, 2, byte(i + 1)}), bound[0])
		id := c.connect()
		wg.Add(1)
		go func(i int, c *client) {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				for d := 0; d < depth; d++ {
					tid := uint32(i<<16 | r<<8 | d)
					c.conn.WriteToUDPAddrPort(announcePkt(id, tid, annArgs{hash: h, left: 1, numWant: 5, port: uint16(1000 + i)}), bound[0])
					c.conn.WriteToUDPAddrPort([]byte("junk between requests"), bound[0])
				}
				seen := map[uint32]bool{}
				c.conn.SetReadDeadline(time.Now().Add(3 * time.Second))
				for len(seen) < depth {
					n, _, err := c.conn.ReadFromUDPAddrPort(c.buf[:])
					if err != nil {
						errs <- err.Error()
						return
					}
					tid := uint32(c.buf[4])<<24 | uint32(c.buf[5])<<16 | uint32(c.buf[6])<<8 | uint32(c.buf[7])
					if tid>>16 != uint32(i) || n < 20 {
						errs <- "reply for another client"
						return
					}
					seen[tid] = true
				}
			}
		}(i, c)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
