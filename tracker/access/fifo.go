package access

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"

	"github.com/opentracker-go/opentracker/tracker/logic"
)

// FIFO feeds run-time changes to a List from a named pipe, as opentracker's
// access.fifo_add and access.fifo_delete do: every line written to it that
// starts with an info_hash of 40 hex digits adds that torrent to the list
// (or deletes it from the list). Each line must end with a newline: the
// daemon holds the pipe open for reading and writing (it could not reopen it
// after dropping root), so it never sees a writer close, and an unfinished
// line runs into the next writer's. A script can whitelist a torrent with
//
//	echo 0123456789abcdef0123456789abcdef01234567 > /var/run/opentracker/add
//
// without rewriting the list file. Other lines are reported and skipped.
type FIFO struct {
	f    *os.File
	path string
	done chan struct{} // closed when feeding ends; nil before Feed
}

// OpenFIFO opens the named pipe at path, making it (mode 0600) if it does
// not exist. The daemon opens it before dropping privileges, so the pipe may
// stay root's, and calls Feed once the list file is loaded.
func OpenFIFO(path string) (*FIFO, error) {
	if err := syscall.Mkfifo(path, 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode()&fs.ModeNamedPipe == 0 {
		return nil, fmt.Errorf("%s exists and is not a FIFO", path)
	}
	// Read-write, so that the pipe never reports end of file when a writer
	// closes it, and so that opening does not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &FIFO{f: f, path: path}, nil
}

// Feed starts applying the pipe's lines to l: additions if add, else
// deletions. logf reports bad lines and refused changes. Call it once.
func (p *FIFO) Feed(l *List, add bool, logf func(format string, args ...any)) {
	p.done = make(chan struct{})
	go p.feed(l, p.path, add, logf)
}

// Close stops feeding and closes the pipe.
func (p *FIFO) Close() error {
	err := p.f.Close()
	if p.done != nil {
		<-p.done
	}
	return err
}

// feed reads lines and applies each burst of them as one change, so that a
// large list written at once costs one copy of the change set, not one per
// line.
func (p *FIFO) feed(l *List, name string, add bool, logf func(string, ...any)) {
	defer close(p.done)
	br := bufio.NewReaderSize(p.f, 4096)
	var batch []logic.InfoHash
	for line := 1; ; line++ {
		b, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			logf("%s:%d: line longer than %d bytes skipped", name, line, br.Size())
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil {
				return
			}
		case err != nil:
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				logf("%s: %v", name, err)
			}
			return
		default:
			if h, ok, perr := parseLine(b); perr != nil {
				logf("%s:%d: %v", name, line, perr)
			} else if ok {
				batch = append(batch, h)
			}
		}
		if br.Buffered() == 0 && len(batch) > 0 {
			if err := l.Change(batch, add); err != nil {
				logf("%s: %d hashes not applied: %v", name, len(batch), err)
			}
			batch = batch[:0]
		}
	}
}

// parseLine reads one line as Parse reads the list file: blank and '#' lines
// are skipped (ok false, no error). A BEP 52 (v2) info hash of 64 hex
// digits is taken as its first 20 bytes, which is what v2 clients announce.
func parseLine(b []byte) (h logic.InfoHash, ok bool, err error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] == '#' {
		return h, false, nil
	}
	n := 0
	for n < len(b) && isHex(b[n]) {
		n++
	}
	if n != 40 && n != 64 {
		return h, false, fmt.Errorf("want an info_hash of 40 hex digits (or a v2 one of 64), got %q", clip(b))
	}
	hex.Decode(h[:], b[:40]) // all hex: cannot fail
	return h, true, nil
}
