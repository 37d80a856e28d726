package swarm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// pageBytes is the kernel's page size: the arena gives whole free pages back.
var pageBytes = unix.Getpagesize()

// dropPages tells the kernel that words hold nothing worth keeping: their
// pages leave the resident set and read as zero when next touched. The
// arena stays the same size, so the budget is unchanged; only the memory a
// free stretch of it occupied goes back. words must cover whole pages.
func dropPages(words []uint32) {
	if len(words) == 0 {
		return
	}
	// The arena is pointer-free, so the garbage collector never reads it.
	_, _, _ = unix.Syscall(unix.SYS_MADVISE, uintptr(unsafe.Pointer(&words[0])), uintptr(len(words)*4), unix.MADV_DONTNEED)
}
