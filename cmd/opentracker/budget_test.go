package main

import (
	"bytes"
	"encoding/binary"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDaemonBudgetFullRefusesWithoutGrowth fills a daemon with a 4 MiB
// budget over UDP until it refuses peers, and checks that the refusal is a
// clear error packet, that a known peer is still served, and that the
// process grew by no more than the budget plus a small fixed overhead.
func TestDaemonBudgetFullRefusesWithoutGrowth(t *testing.T) {
	const budget = 4 << 20
	d := startDaemon(t, "memory_budget = 4194304\n[udp]\nworkers = 1\n")
	rss0 := rssOf(t, d.cmd.Process.Pid)

	c, err := net.Dial("udp", d.udp[0].String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 2048)
	id := udpConnect(t, c, buf)
	req := make([]byte, 98)
	binary.BigEndian.PutUint64(req, id)
	binary.BigEndian.PutUint32(req[8:], 1)
	binary.BigEndian.PutUint64(req[64:], 1) // left: leecher
	binary.BigEndian.PutUint32(req[92:], 0) // numwant 0: small replies
	sent, refused := 0, 0
	var refusal string
	deadline := time.Now().Add(60 * time.Second)
	// Bounded: at most 1.5M announces or 60 s, whichever comes first.
	for sent < 1500000 && refused < 50 && time.Now().Before(deadline) {
		const burst = 32
		for i := 0; i < burst; i++ {
			n := sent + i
			binary.BigEndian.PutUint32(req[12:], uint32(n))
			binary.BigEndian.PutUint32(req[16:], uint32(n/60000)) // torrent
			binary.BigEndian.PutUint16(req[96:], uint16(1+n%60000))
			c.Write(req)
		}
		sent += burst
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		for i := 0; i < burst; i++ {
			n, err := c.Read(buf)
			if err != nil {
				break // a lost datagram; the loop is bounded anyway
			}
			if binary.BigEndian.Uint32(buf) == 3 {
				refused++
				refusal = string(bytes.TrimRight(buf[8:n], "\x00"))
			}
		}
	}
	if refused == 0 || !strings.HasPrefix(refusal, "tracker is full") {
		t.Fatalf("after %d announces: %d refusals, last %q", sent, refused, refusal)
	}
	// a known peer (torrent 0, port 1) is still answered
	binary.BigEndian.PutUint32(req[16:], 0)
	binary.BigEndian.PutUint16(req[96:], 1)
	c.Write(req)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := c.Read(buf); err != nil || n < 20 || binary.BigEndian.Uint32(buf) != 1 {
		t.Fatalf("known peer after full: %x %v", buf[:n], err)
	}
	grew := rssOf(t, d.cmd.Process.Pid) - rss0
	t.Logf("%d announces, RSS grew %d KiB for a %d KiB budget", sent, grew>>10, budget>>10)
	if grew > budget+4<<20 {
		t.Fatalf("RSS grew by %d bytes with a %d byte budget", grew, budget)
	}
}

func udpConnect(t *testing.T, c net.Conn, buf []byte) uint64 {
	t.Helper()
	req := binary.BigEndian.AppendUint64(nil, 0x41727101980)
	req = binary.BigEndian.AppendUint64(req, 99)
	c.Write(req)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	n, err := c.Read(buf)
	if err != nil || n != 16 {
		t.Fatalf("connect: %x %v", buf[:n], err)
	}
	return binary.BigEndian.Uint64(buf[8:])
}

// rssOf reads a process's resident set size from /proc.
func rssOf(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
