package journal

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkGroupCommit measures appenders that each append a 64-byte
// record and wait for its commit, on the disk of the test's temporary
// directory, with fsync.
func BenchmarkGroupCommit(b *testing.B) {
	for _, appenders := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("appenders=%d", appenders), func(b *testing.B) {
			j := openTest(b, Options{})
			r := make([]byte, 64)
			ctx := context.Background()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range appenders {
				n := b.N / appenders
				if w < b.N%appenders {
					n++
				}
				wg.Go(func() {
					for range n {
						if err := j.Wait(ctx, j.Append(r)); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
			secs := time.Since(start).Seconds()
			commits := float64(j.commits.Load())
			b.ReportMetric(float64(b.N)/secs, "records/s")
			b.ReportMetric(commits/secs, "commits/s")
			b.ReportMetric(float64(b.N)/max(commits, 1), "records/commit")
		})
	}
}

// BenchmarkCommit measures the commit of one 64-byte record: the write
// and its fdatasync (nosync=false), or the write alone. It also reports
// the CPU time of the process per commit, which on a virtual machine
// can be a good part of an fdatasync's.
func BenchmarkCommit(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(fmt.Sprintf("nosync=%v", noSync), func(b *testing.B) {
			j := openTest(b, Options{NoSync: noSync})
			r := [][]byte{make([]byte, 64)}
			lsn := uint64(1)
			start := cpuTime(b)
			for b.Loop() {
				if err := j.write(lsn, r); err != nil {
					b.Fatal(err)
				}
				lsn++
			}
			b.ReportMetric(float64((cpuTime(b)-start).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAppend measures Append alone while the committer writes
// without fsync: serially, and from parallel goroutines.
func BenchmarkAppend(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		b.Run(fmt.Sprintf("parallel=%v", parallel), func(b *testing.B) {
			j := openTest(b, Options{NoSync: true})
			r := make([]byte, 64)
			if !parallel {
				for b.Loop() {
					j.Append(r)
				}
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					j.Append(r)
				}
			})
		})
	}
}
