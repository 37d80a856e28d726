// Command spin keeps one goroutine busy for 300 ms, yielding now and then
// as the tracker's busy loops do: the Go runtime's monitor thread then
// backs off to its longest sleep, unless its usleep is wrong.
package main

import (
	"runtime"
	"time"
)

func main() {
	end := time.Now().Add(300 * time.Millisecond)
	for i := 0; ; i++ {
		runtime.Gosched()
		if i%1000 == 0 && time.Now().After(end) {
			return
		}
	}
}
