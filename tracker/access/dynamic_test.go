package access

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

func listFile(t *testing.T, mode Mode, lines ...string) (*List, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "list")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	l, err := loadList(mode, path)
	if err != nil {
		t.Fatal(err)
	}
	return l, path
}

func TestChange(t *testing.T) {
	a, b, c := hash(hashA), hash(hashB), hash(hashC)
	for _, mode := range []Mode{Whitelist, Blacklist} {
		l, _ := listFile(t, mode, hashA)
		listed := func(h logic.InfoHash) bool { return l.Allowed(h) == (mode == Whitelist) }
		if err := l.Change([]logic.InfoHash{b, c, b}, true); err != nil {
			t.Fatal(err)
		}
		if !listed(a) || !listed(b) || !listed(c) {
			t.Fatalf("%v after adding b, c: %v %v %v", mode, listed(a), listed(b), listed(c))
		}
		// A deletion wins over the file and over an earlier addition.
		l.Change([]logic.InfoHash{a, b}, false)
		if listed(a) || listed(b) || !listed(c) {
			t.Fatalf("%v after deleting a, b: %v %v %v", mode, listed(a), listed(b), listed(c))
		}
		// An addition wins over an earlier deletion.
		l.Change([]logic.InfoHash{a}, true)
		if !listed(a) || listed(b) {
			t.Fatalf("%v after re-adding a: %v %v", mode, listed(a), listed(b))
		}
		// Reload: the file is the truth again.
		if _, err := l.Reload(); err != nil {
			t.Fatal(err)
		}
		if !listed(a) || listed(b) || listed(c) {
			t.Fatalf("%v after reload: %v %v %v", mode, listed(a), listed(b), listed(c))
		}
	}
	if err := New(Open, "").Change([]logic.InfoHash{a}, true); err == nil {
		t.Fatal("an open list accepted a change")
	}
}

func TestChangeBounded(t *testing.T) {
	l, _ := listFile(t, Whitelist, hashA)
	batch := make([]logic.InfoHash, MaxChanges)
	for i := range batch {
		batch[i][0], batch[i][1], batch[i][19] = byte(i>>8), byte(i), 0xEE
	}
	if err := l.Change(batch, true); err != nil {
		t.Fatal(err)
	}
	one := hash(hashC)
	if err := l.Change([]logic.InfoHash{one}, true); err == nil || !strings.Contains(err.Error(), "reload") {
		t.Fatalf("change past the bound: %v", err)
	}
	if l.Allowed(one) || !l.Allowed(batch[MaxChanges-1]) {
		t.Fatal("a refused change was applied, or an accepted one lost")
	}
}

// TestChangeConcurrent: lookups run while changes are made (go test -race).
func TestChangeConcurrent(t *testing.T) {
	l, _ := listFile(t, Whitelist, hashA)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				if !l.Allowed(hash(hashA)) {
					t.Error("file entry lost during changes")
					return
				}
			}
		}
	}()
	for i := 0; i < 200; i++ {
		var h logic.InfoHash
		h[0], h[1] = byte(i), 0x55
		l.Change([]logic.InfoHash{h}, i%3 != 0)
	}
	close(stop)
	wg.Wait()
}

func TestFIFO(t *testing.T) {
	l, _ := listFile(t, Whitelist, hashA)
	dir := t.TempDir()
	var mu sync.Mutex
	var logged []string
	logf := func(format string, args ...any) {
		mu.Lock()
		logged = append(logged, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	addPath, delPath := filepath.Join(dir, "add"), filepath.Join(dir, "delete")
	add, err := OpenFIFO(addPath)
	if err != nil {
		t.Fatal(err)
	}
	add.Feed(l, true, logf)
	del, err := OpenFIFO(delPath)
	if err != nil {
		t.Fatal(err)
	}
	del.Feed(l, false, logf)
	write := func(path, s string) {
		// As a shell's "echo ... > fifo": open, write, close.
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	write(addPath, hashB+" a name\n# comment\nnot a hash\n")
	waitFor("b added", func() bool { return l.Allowed(hash(hashB)) })
	write(addPath, hashC+"\n") // a second writer after the first closed
	waitFor("c added", func() bool { return l.Allowed(hash(hashC)) })
	write(delPath, hashA+"\n")
	waitFor("a deleted", func() bool { return !l.Allowed(hash(hashA)) })
	// A hash followed, in the same write, by an over-long line still
	// takes effect at once.
	write(delPath, hashC+"\n"+strings.Repeat("x", 10000)+"\n")
	waitFor("c deleted", func() bool { return !l.Allowed(hash(hashC)) })
	mu.Lock()
	if len(logged) != 2 || !strings.Contains(logged[0], addPath+":3: want an info_hash") || !strings.Contains(logged[1], delPath+":3: line longer than") {
		t.Errorf("logged %q, want the bad line 3 of add and the long line 3 of delete reported", logged)
	}
	mu.Unlock()

	done := make(chan struct{})
	go func() { add.Close(); del.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs while the reader waits")
	}
	// Reopening finds the existing FIFOs; a regular file is refused.
	again, err := OpenFIFO(addPath)
	if err != nil {
		t.Fatal(err)
	}
	again.Close() // never fed

	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)
	if _, err := OpenFIFO(plain); err == nil || !strings.Contains(err.Error(), "not a FIFO") {
		t.Fatalf("regular file: %v", err)
	}
}

// TestConfigureSwitchesModeAndFile: SIGHUP's switch of mode and file takes
// effect at once; a file that does not load leaves mode and list as they
// were.
func TestConfigureSwitchesModeAndFile(t *testing.T) {
	dir := t.TempDir()
	a, b := logic.InfoHash{0xaa}, logic.InfoHash{0xbb}
	fa, fb := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	os.WriteFile(fa, []byte(a.AppendHex(nil)), 0o644)
	os.WriteFile(fb, []byte(string(b.AppendHex(nil))+"\n"), 0o644)
	l := New(Open, "")
	if !l.Allowed(a) || !l.Allowed(b) {
		t.Fatal("open list refuses")
	}
	if n, err := l.Configure(Whitelist, fa); err != nil || n != 1 || !l.Allowed(a) || l.Allowed(b) {
		t.Fatalf("whitelist a: %d %v, a %v b %v", n, err, l.Allowed(a), l.Allowed(b))
	}
	if _, err := l.Configure(Blacklist, fb); err != nil || !l.Allowed(a) || l.Allowed(b) || l.Mode() != Blacklist {
		t.Fatalf("blacklist b: %v, a %v b %v", err, l.Allowed(a), l.Allowed(b))
	}
	if _, err := l.Configure(Whitelist, filepath.Join(dir, "missing")); err == nil || l.Mode() != Blacklist || !l.Allowed(a) || l.Allowed(b) {
		t.Fatalf("a missing file changed the list: %v, mode %v", err, l.Mode())
	}
	if n, err := l.Reload(); err != nil || n != 1 || l.Allowed(b) {
		t.Fatalf("reload reads the configured file: %d %v", n, err)
	}
	if _, err := l.Configure(Open, ""); err != nil || !l.Allowed(b) {
		t.Fatalf("back to open: %v", err)
	}
}
