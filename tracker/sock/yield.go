package sock

import "runtime"

// yieldEvery is how many batches a busy loop handles before it yields.
const yieldEvery = 4

// Yielder lets a loop that serves batches of requests with raw system
// calls yield the processor now and then. Busy, such a loop never waits,
// and the runtime's monitor thread (sysmon) preempts a goroutine that has
// run for 10 ms with a signal, and after each preemption polls at its
// shortest period (20 µs) again, each poll a nanosleep and, on 32-bit
// MIPS, which has no vDSO, two clock_gettime system calls. A goroutine
// that yields every few batches is never preempted, and sysmon backs off
// to 10 ms. Under qemu's MIPS 24Kf that halved the CPU per HTTP keep-alive
// reply. The zero value is ready.
type Yielder struct{ batches uint32 }

// Batch counts one batch and yields every yieldEvery.
func (y *Yielder) Batch() {
	if y.batches++; y.batches%yieldEvery == 0 {
		runtime.Gosched()
	}
}
