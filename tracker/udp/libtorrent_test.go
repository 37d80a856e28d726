package udp

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestLibtorrentClients lets a real client, libtorrent (Debian's
// python3-libtorrent), seed and download through the UDP tracker: the
// connect/announce exchange works with a real implementation and the peers
// we hand out are usable. Skips when the bindings are not installed.
func TestLibtorrentClients(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import libtorrent").Run(); err != nil {
		t.Skip("python3-libtorrent not installed")
	}
	for _, tc := range []struct{ name, bind, listen string }{
		{"v4", "127.0.0.1:0", "127.0.0.1"},
		{"v6", "[::1]:0", "[::1]"},
	} {
		t.Run(tc.name, func(t *testing.T) { libtorrentSwarm(t, py, tc.bind, tc.listen) })
	}
}

func libtorrentSwarm(t *testing.T, py, bind, listen string) {
	s, _ := newTestServer(t, Config{}, nil)
	addr, err := s.Listen(bind)
	if err != nil {
		t.Skipf("bind %s: %v", bind, err)
	}
	s.Start()
	t.Cleanup(func() { s.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "testdata/libtorrent_swarm.py", addr.String(), "40", listen)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	t.Logf("libtorrent:\n%s", out)
	if err != nil || !strings.Contains(string(out), "DOWNLOADED") {
		t.Fatalf("download through the tracker failed: %v", err)
	}
	if !strings.Contains(string(out), "tracker_reply_alert") {
		t.Fatal("no tracker reply seen")
	}
	if n := s.stats.UDPAnnounces.Load(); n < 2 {
		t.Fatalf("%d announces", n)
	}
}
