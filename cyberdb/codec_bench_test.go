package cyberdb

import (
	"bytes"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// BenchmarkCodec measures the CBOR encoding and decoding of the messages
// every call exchanges: a request (Op) and its reply (Result), with a
// 16-byte value. "append" is the direct encoder of wire.go, "encode" the
// generic one it replaces on the hot path.
func BenchmarkCodec(b *testing.B) {
	value, err := encode(make([]byte, 16))
	if err != nil {
		b.Fatal(err)
	}
	get := engine.Op{Code: engine.OpDictGet, Table: "sessions", Key: "user:12345", Client: 7}
	set := engine.Op{Code: engine.OpDictSet, Table: "sessions", Key: "user:12345", Value: value, Client: 7, Seq: 99, Ack: 98}
	found := engine.Result{Found: true, Value: value}
	for _, m := range []struct {
		name   string
		v      any
		into   func() any
		append func([]byte) ([]byte, bool)
	}{
		{"op-get", &get, func() any { return new(engine.Op) }, func(b []byte) ([]byte, bool) { return appendOp(b, &get) }},
		{"op-set", &set, func() any { return new(engine.Op) }, func(b []byte) ([]byte, bool) { return appendOp(b, &set) }},
		{"result-value", &found, func() any { return new(engine.Result) }, func(b []byte) ([]byte, bool) { return appendResult(b, &found) }},
	} {
		b.Run(m.name+"/append", func(b *testing.B) {
			buf := make([]byte, 0, 256)
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := m.append(buf[:0]); !ok {
					b.Fatal("declined")
				}
			}
		})
		b.Run(m.name+"/encode", func(b *testing.B) {
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if err := ipc.DefaultCodec.MarshalTo(&buf, m.v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(m.name+"/decode", func(b *testing.B) {
			enc, err := ipc.DefaultCodec.Marshal(m.v)
			if err != nil {
				b.Fatal(err)
			}
			dst := m.into()
			b.ReportAllocs()
			for b.Loop() {
				if err := ipc.DefaultCodec.Unmarshal(enc, dst); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
