//go:build !linux

// Command otbench is the benchmark harness; it needs Linux (epoll,
// sendmmsg/recvmmsg, /proc).
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "otbench: Linux only")
	os.Exit(1)
}
