package cyberdb_test

import (
	"context"
	"fmt"
	"os"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

func ExampleBatch() {
	dir, _ := os.MkdirTemp("", "cdb")
	defer os.RemoveAll(dir)
	db, err := cyberdb.Open(dir, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer db.Close()
	ctx := context.Background()
	hits, _ := db.CreateDict(ctx, "hits")
	jobs, _ := db.CreateList(ctx, "jobs")

	b := db.Batch()
	n := b.Incr(hits, "/", 2)
	length := b.Append(jobs, "resize")
	owner := b.Get(hits, "owner")
	if err := b.Run(ctx); err != nil { // one round trip for the three
		fmt.Println(err)
		return
	}
	fmt.Println(n.Value(), length.Value(), owner.Found())
	// Output: 2 1 false
}
