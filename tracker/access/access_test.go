package access

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

func hash(s string) logic.InfoHash {
	var h logic.InfoHash
	hex.Decode(h[:], []byte(s))
	return h
}

const (
	hashA = "0123456789abcdef0123456789abcdef01234567"
	hashB = "FEDCBA9876543210FEDCBA9876543210FEDCBA98"
	hashC = "1111111111111111111111111111111111111111"
)

func TestWhitelistReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "list")
	os.WriteFile(path, []byte("# torrents\n"+hashA+" ubuntu.iso\n\n"+hashB+"\n"), 0o644)
	l, err := loadList(Whitelist, path)
	if err != nil {
		t.Fatal(err)
	}
	if !l.Allowed(hash(hashA)) || !l.Allowed(hash(strings.ToLower(hashB))) || l.Allowed(hash(hashC)) {
		t.Fatal("whitelist lookups wrong")
	}
	os.WriteFile(path, []byte(hashC+"\n"), 0o644)
	if n, err := l.Reload(); err != nil || n != 1 {
		t.Fatalf("reload: %d %v", n, err)
	}
	if l.Allowed(hash(hashA)) || !l.Allowed(hash(hashC)) {
		t.Fatal("reload not applied")
	}
	// a broken file keeps the old list and names the line
	os.WriteFile(path, []byte(hashA+"\nnot-a-hash\n"), 0o644)
	_, err = l.Reload()
	if err == nil || !strings.Contains(err.Error(), path+":2:") {
		t.Fatalf("bad line error: %v", err)
	}
	if !l.Allowed(hash(hashC)) {
		t.Fatal("failed reload dropped the old list")
	}
}

func TestBlacklistAndOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "list")
	os.WriteFile(path, []byte(hashA+"\n"), 0o644)
	l, err := loadList(Blacklist, path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Allowed(hash(hashA)) || !l.Allowed(hash(hashB)) {
		t.Fatal("blacklist lookups wrong")
	}
	var none *List
	open, _ := loadList(Open, "")
	if !none.Allowed(hash(hashA)) || !open.Allowed(hash(hashA)) {
		t.Fatal("open lists must allow all")
	}
	if _, err := loadList(Whitelist, filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("missing whitelist file accepted")
	}
	if _, err := ParseMode("grey"); err == nil {
		t.Fatal("bad mode accepted")
	}
}

// TestParseLines: 40 hex digits, or a v2 hash of 64 taken as its first 20
// bytes, then nothing or a non-hex character; anything else is an error.
func TestParseLines(t *testing.T) {
	v2 := hashA + "89abcdef0123456789abcdef"
	hs, err := Parse(strings.NewReader(v2+" a v2 torrent\n"+hashB+"\t name\n"), "l")
	if err != nil || len(hs) != 2 || hs[0] != hash(hashA) || hs[1] != hash(hashB) {
		t.Fatalf("%x, %v", hs, err)
	}
	for _, bad := range []string{hashA + "0", hashA[:39], v2 + "0", "g" + hashA[1:]} {
		if _, err := Parse(strings.NewReader(bad+"\n"), "l"); err == nil || !strings.Contains(err.Error(), "l:1: want an info_hash") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// TestParseLongLine: a line over the scanner's limit is named by file and
// line, not reported as a bare "token too long".
func TestParseLongLine(t *testing.T) {
	src := hashA + "\n# fine\n" + hashB + " " + strings.Repeat("x", maxLine) + "\n"
	_, err := Parse(strings.NewReader(src), "list.txt")
	if err == nil || !strings.HasPrefix(err.Error(), "list.txt:3: line longer than") {
		t.Fatalf("%v", err)
	}
}

// loadList is New and a first Reload, as the daemon does.
func loadList(mode Mode, path string) (*List, error) {
	l := New(mode, path)
	if _, err := l.Reload(); err != nil {
		return nil, err
	}
	return l, nil
}
