package cyberdb_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

// openExample opens a store in a new directory; close it with the
// returned function.
func openExample() (*cyberdb.DB, func(), error) {
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		return nil, nil, err
	}
	db, err := cyberdb.Open(dir, nil)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return db, func() { db.Close(); os.RemoveAll(dir) }, nil
}

func ExampleDict_IncrWithTTL() {
	db, done, err := openExample()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	ctx := context.Background()
	hits, _ := db.CreateDict(ctx, "hits")

	// At most 3 requests per user per minute: the first request of a
	// window creates the counter, which expires with the window.
	allow := func(user string) bool {
		n, err := hits.IncrWithTTL(ctx, "rate:"+user, 1, time.Minute)
		return err == nil && n <= 3
	}
	for range 5 {
		fmt.Print(allow("ann"), " ")
	}
	fmt.Println(allow("bob"))
	left, _, _ := hits.TTL(ctx, "rate:ann")
	fmt.Println("window resets within a minute:", left > 0 && left <= time.Minute)
	// Output:
	// true true true false false true
	// window resets within a minute: true
}

func ExampleDict_Update() {
	db, done, err := openExample()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	ctx := context.Background()
	type account struct {
		Owner   string
		Balance int
	}
	accounts, _ := db.CreateDict(ctx, "accounts")
	accounts.Set(ctx, "ann", account{"ann", 10})

	// withdraw runs in this process, perhaps several times if other
	// writers change the account meanwhile; Update stores its result only
	// over the value it read.
	withdraw := func(amount int) func(old cyberdb.Value, found bool) (any, error) {
		return func(old cyberdb.Value, found bool) (any, error) {
			var a account
			if !found {
				return nil, errors.New("no such account")
			}
			if err := old.Decode(&a); err != nil {
				return nil, err
			}
			if a.Balance < amount {
				return nil, errors.New("insufficient funds")
			}
			a.Balance -= amount
			return a, nil
		}
	}
	_, err = accounts.Update(ctx, "ann", withdraw(3))
	fmt.Println(err)
	_, err = accounts.Update(ctx, "ann", withdraw(30))
	fmt.Println(err)
	_, err = accounts.Update(ctx, "bob", withdraw(1))
	fmt.Println(err)
	var a account
	accounts.Get(ctx, "ann", &a)
	fmt.Println(a.Owner, a.Balance)
	// Output:
	// <nil>
	// insufficient funds
	// no such account
	// ann 7
}

func ExampleTxn_CheckVersion() {
	db, done, err := openExample()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	ctx := context.Background()
	stock, _ := db.CreateDict(ctx, "stock", map[string]int{"apple": 5})
	orders, _ := db.CreateList(ctx, "orders")

	// order takes one apple from the stock read at version ver and records
	// the order, both or neither.
	order := func(n int, ver uint64) error {
		tx := db.Txn()
		tx.CheckVersion(stock, "apple", ver)
		tx.Set(stock, "apple", n-1)
		tx.Append(orders, "apple")
		return tx.Commit(ctx)
	}
	var n int
	ver, _, _ := stock.GetVersion(ctx, "apple", &n)
	stock.Set(ctx, "apple", 4) // another writer comes in between
	err = order(n, ver)
	var te *cyberdb.TxnError
	fmt.Println(errors.Is(err, cyberdb.ErrConflict), errors.As(err, &te) && te.Index == 0)

	ver, _, _ = stock.GetVersion(ctx, "apple", &n) // read again and retry
	fmt.Println(order(n, ver))
	stock.Get(ctx, "apple", &n)
	count, _ := orders.Len(ctx)
	fmt.Println(n, count)
	// Output:
	// true true
	// <nil>
	// 3 1
}

func ExampleDB_Watch() {
	db, done, err := openExample()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	config, _ := db.CreateDict(ctx, "config")
	config.Set(ctx, "mode", "fast")
	from, _, _ := config.GetVersion(ctx, "mode", nil) // watch the changes after this one
	config.Set(ctx, "mode", "safe")
	config.Delete(ctx, "mode")

	seen := 0
	for ev, err := range db.Watch(ctx, "config", &cyberdb.WatchOptions{Key: "mode", From: from}) {
		if err != nil {
			fmt.Println(err)
			break
		}
		old, _ := ev.Old.Any()
		switch ev.Type {
		case cyberdb.EventSet:
			v, _ := ev.Value.Any()
			fmt.Printf("%s %s = %v (was %v)\n", ev.Type, ev.Key, v, old)
		case cyberdb.EventDelete:
			fmt.Printf("%s %s (was %v)\n", ev.Type, ev.Key, old)
		}
		if seen++; seen == 2 {
			break // resume later with WatchOptions{From: ev.Rev}
		}
	}
	// Output:
	// set mode = safe (was fast)
	// delete mode (was safe)
}

func ExampleList_MoveWait() {
	db, done, err := openExample()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	jobs, _ := db.CreateList(ctx, "jobs")
	busy, _ := db.CreateList(ctx, "busy")
	go jobs.Append(ctx, "resize photo.jpg") // a producer, perhaps in another process

	// A worker waits for a job and moves it to the jobs in progress, so
	// that it is not lost if the worker dies before finishing it.
	var job string
	if err := jobs.MoveWait(ctx, busy, cyberdb.Front, cyberdb.Back, &job); err != nil {
		fmt.Println(err)
		return
	}
	n, _ := busy.Len(ctx)
	fmt.Println("working on", job, "- in progress:", n)
	busy.Remove(ctx, job) // done
	n, _ = busy.Len(ctx)
	fmt.Println("done - in progress:", n)
	// Output:
	// working on resize photo.jpg - in progress: 1
	// done - in progress: 0
}

func ExampleDB_Lock() {
	db, done, err := openExample()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer done()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	lock, err := db.Lock(ctx, "nightly-report", 30*time.Second)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("holding", lock.Name())
	_, err = db.TryLock(ctx, "nightly-report", 30*time.Second)
	fmt.Println("second holder:", errors.Is(err, cyberdb.ErrLocked))
	// Long work refreshes the lease; a storage that remembers the largest
	// token it saw refuses writes from a holder whose lease ran out.
	fmt.Println("refresh:", lock.Refresh(ctx))
	fmt.Println("unlock:", lock.Unlock(ctx))
	fmt.Println("unlock again:", errors.Is(lock.Unlock(ctx), cyberdb.ErrNotHeld))
	next, _ := db.TryLock(ctx, "nightly-report", 30*time.Second)
	fmt.Println("next token is larger:", next.Token() > lock.Token())
	// Output:
	// holding nightly-report
	// second holder: true
	// refresh: <nil>
	// unlock: <nil>
	// unlock again: true
	// next token is larger: true
}
