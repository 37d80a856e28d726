package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// webtorrentDir holds the scrape script and, once .ci/run installed it,
// webtorrent's bittorrent-tracker client in node_modules.
const webtorrentDir = "testdata/webtorrent"

// TestWebtorrentScrapesUnknownTorrent: webtorrent's tracker client rejects
// a scrape reply that leaves out the torrent it asked about ("invalid
// scrape response", as opentracker answers for an unknown one); we answer
// zeros, and a known torrent's counts.
func TestWebtorrentScrapesUnknownTorrent(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node not installed (.ci/run installs nodejs)")
	}
	if _, err := os.Stat(filepath.Join(webtorrentDir, "node_modules", "bittorrent-tracker")); err != nil {
		t.Skip("bittorrent-tracker not installed: npm install --prefix " + webtorrentDir + " --ignore-scripts --omit=dev (.ci/run does)")
	}
	d := startDaemon(t, "")
	url := "http://" + d.tcp[0].String() + "/announce"
	scrape := func(hash string) map[string]any {
		t.Helper()
		cmd := exec.Command(node, "scrape.mjs", url, hash)
		cmd.Dir = webtorrentDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("webtorrent scrape of %s: %v: %s", hash, err, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return m
	}
	unknown := "0102030405060708091011121314151617181920"
	if m := scrape(unknown); m["complete"] != 0.0 || m["incomplete"] != 0.0 || m["downloaded"] != 0.0 {
		t.Errorf("unknown torrent: %v", m)
	}
	known := "\xaa\xbb\xcc\xdd\xee\xff\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd"
	if code, body := get(t, d.tcp[0], announceURL(known, 7000, 0, "")); code != 200 {
		t.Fatalf("announce: %d %s", code, body)
	}
	if m := scrape("aabbccddeeff00112233445566778899aabbccdd"); m["complete"] != 1.0 || m["incomplete"] != 0.0 {
		t.Errorf("known torrent: %v", m)
	}
}
