// Deterministic Go work: goroutines, a ticker, channels and plenty of garbage for the GC,
// one line per step appended to OUTFILE.   steps OUTFILE STEPS STEP_MS
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

func work(step, id int) uint64 {
	h := uint64(step*31 + id)
	var keep [][]byte
	for i := 0; i < 20000; i++ {
		b := make([]byte, 64+i%64)
		b[i%len(b)] = byte(i ^ step)
		h = h*1000003 + uint64(b[i%len(b)])
		if i%1000 == 0 {
			keep = append(keep, b)
		}
	}
	return h + uint64(len(keep))
}

func main() {
	out := os.Args[1]
	steps, _ := strconv.Atoi(os.Args[2])
	ms, _ := strconv.Atoi(os.Args[3])
	f, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	ticker := time.NewTicker(time.Duration(ms) * time.Millisecond)
	results := make(chan uint64, 8)
	for s := 0; s < steps; s++ {
		var wg sync.WaitGroup
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func(g int) {
				defer wg.Done()
				results <- work(s, g)
			}(g)
		}
		wg.Wait()
		var sum uint64
		for g := 0; g < 8; g++ {
			sum += <-results
		}
		runtime.GC()
		fmt.Fprintf(f, "step %d sum %d\n", s, sum)
		<-ticker.C
	}
	fmt.Fprintln(f, "done")
	f.Close()
	fmt.Printf("steps finished %d steps\n", steps)
}
