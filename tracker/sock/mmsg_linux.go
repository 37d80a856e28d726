//go:build linux

package sock

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mmsghdr is struct mmsghdr: one message of a recvmmsg or sendmmsg batch.
// Go pads it after N as C does on 32- and 64-bit targets (32 and 64 bytes).
type Mmsghdr struct {
	Hdr unix.Msghdr
	N   uint32 // bytes received or sent
}

// RecvMmsg receives up to len(msgs) datagrams on fd without blocking
// (MSG_DONTWAIT). SendMmsg sends msgs likewise. Both are raw system calls:
// they never block, and a plain syscall would let the runtime's sysmon
// retake the P whenever a batch takes longer than its 20 µs tick (a
// loopback sendmmsg delivers to the receivers in the same call), a hand-off
// per batch. Callers retry EINTR and wait for the poller on EAGAIN.
func RecvMmsg(fd uintptr, msgs []Mmsghdr) (int, unix.Errno) {
	return mmsg(unix.SYS_RECVMMSG, fd, msgs)
}

// SendMmsg sends msgs on fd without blocking; see RecvMmsg.
func SendMmsg(fd uintptr, msgs []Mmsghdr) (int, unix.Errno) {
	return mmsg(unix.SYS_SENDMMSG, fd, msgs)
}

func mmsg(trap, fd uintptr, msgs []Mmsghdr) (int, unix.Errno) {
	if len(msgs) == 0 {
		return 0, 0
	}
	n, _, e := unix.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), 0
}
