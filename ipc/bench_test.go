package ipc_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/cyberdb-go/cyberdb/ipc"
)

// BenchmarkCall measures one round trip over a real Unix socket, from one
// goroutine and from 64.
func BenchmarkCall(b *testing.B) {
	for _, size := range []int{16, 4096} {
		for _, par := range []int{1, 64} {
			b.Run(fmt.Sprintf("%dB/%dg", size, par), func(b *testing.B) {
				benchCall(b, size, par)
			})
		}
	}
}

func benchCall(b *testing.B, size, par int) {
	srv := startServer(b, &echo{}, ipc.ServerConfig{})
	c := dial(b, srv.path, ipc.ClientConfig{ClientID: 1})
	req := make([]byte, size)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(size))
	b.SetParallelism(par)
	if par == 1 {
		for b.Loop() {
			if _, err := c.Call(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Call(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
