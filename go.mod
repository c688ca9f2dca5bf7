module github.com/cyberdb-go/cyberdb

go 1.26.0

require (
	github.com/fxamacker/cbor/v2 v2.10.0
	github.com/hashicorp/yamux v0.1.2
	go.etcd.io/bbolt v1.5.0
	golang.org/x/sys v0.50.0
)

require github.com/x448/float16 v0.8.4 // indirect
