// Package cyberdb shares in-memory dict and list tables between the
// processes of one machine, as if they were one program.
//
// # Basics
//
// Every process that shares the store calls Open with the same directory.
// The first one to take the directory's lock becomes the leader: it holds
// the tables in memory, restores them from a bbolt backup file, and serves
// the other processes over a Unix socket in the directory. The others
// attach to it as clients. Both kinds of process use the same API, and
// every operation is atomic.
//
//	db, err := cyberdb.Open("/run/myapp/store", nil)
//	if err != nil { ... }
//	defer db.Close()
//	hits, err := db.CreateDict(ctx, "hits")   // or db.Dict(ctx, "hits")
//	n, err := hits.Incr(ctx, "/", 1)
//
// Values are any CBOR-encodable Go value (numbers, strings, byte slices,
// booleans, nil, slices, maps, structs) and are stored encoded, so reads
// decode a copy into the destination the caller passes, the way
// encoding/json does. Falsy values (0, "", false, empty slices and maps,
// nil) round-trip exactly. DictOf and ListOf give typed handles.
//
// A Batch (DB.Batch) sends many operations, on any tables, in one round
// trip to the leader and puts the outcome of each in its own Pending. Like
// Redis pipelining it is not atomic: other operations may come between
// its operations, and a failing one neither stops nor undoes the others.
//
// Keys of a dict may expire (Dict.SetTTL, Expire, IncrWithTTL and a
// table's default, SetDefaultTTL) at absolute deadlines that survive a
// takeover. Every key has a version (Dict.GetVersion), which Dict.Update
// uses to change a value optimistically, with the function run in the
// caller's process. A Txn applies operations on several tables
// atomically, with checks of values and versions: all of them or none.
// DB.Watch follows the changes of a table by revision and resumes after
// a reconnect or a takeover, or fails with CompactedError or
// ErrRevisionLost rather than skip a change. List.PopWait and MoveWait
// wait for an element (MoveWait moves it atomically into another list,
// where it stays if its taker dies), and DB.Lock takes a named lock with a
// lease and a fencing token, released when its holder's process dies.
//
// # Concurrency
//
// A DB and its handles are safe for concurrent use by many goroutines.
// The leader's own calls go straight to the in-memory engine, without a
// socket or message encoding; a client's calls travel as CBOR messages
// over a yamux session, many requests per write. Each table has its own
// lock, so operations on different tables do not wait for each other.
// Every call takes a context and honours its deadline and cancellation;
// a write whose context ends while it is in flight may still be applied.
//
// When the leader process exits, its clients notice at once, one of them
// takes the lock, restores from the snapshot and the log, and serves the
// rest. A hung leader keeps its lock, so no other process serves meanwhile
// (never a split brain): its clients detect it by keepalive and their
// calls fail when their contexts end, until it resumes or dies. Calls in
// flight are retried on the new leader until their context ends. Every
// write a client sends carries its client id and a sequence number, and
// the leader keeps the results of recent writes with its log, so a
// retried write is applied exactly once, even across a takeover, and
// returns its original result.
//
// # Durability
//
// Options.Durability chooses when a write is acknowledged. The leader
// keeps a snapshot of every table in a bbolt file (default data.cdb in
// the directory) and, except in Snapshot mode, a log of the writes since
// (data.cdb.log); a restore is the snapshot plus a replay of the log, and
// each snapshot (every Options.BackupInterval and at Close) trims the log.
// What each mode loses when something crashes:
//
//	mode      a client process   the leader process            the machine
//	Always    nothing            nothing acknowledged           nothing acknowledged
//	Interval  nothing            about CommitInterval (100ms)   about CommitInterval
//	Snapshot  nothing            writes since the last snapshot writes since the last snapshot
//	None      nothing            about the last 10ms of writes  everything
//
// A client process that crashes loses only its own unanswered calls, which
// may or may not have been applied. A graceful Close of the leader loses
// nothing in any mode: it commits its log (or snapshots) and hands over at
// once. In Always mode concurrent writes share one fsync (group commit),
// and a write that cannot be made durable (a full disk) fails with ErrIO
// and is undone in memory; in Interval mode writes fail with ErrIO while
// the log cannot be committed. A damaged end of the log is detected; what
// precedes it is restored and the loss is logged.
//
// # Caveats
//
// The directory must be on a local file system: flock does not elect
// reliably over NFS, and Open refuses network file systems. Only
// processes of the same user may attach unless Options.AllowUIDs or
// AllowGIDs name others. Values are compared by their encoding (for
// List.Remove, Count, Index and Dict.CompareAndSwap), so the integer 1
// and the float 1.0 differ. A message, and so a value or a whole-table
// read such as ToMap, is limited to Options.MaxMessageSize (64 MiB). A
// transaction holds the whole store while it runs. Blocking calls and
// watches each use a stream of their own: a client may have about a
// thousand at once.
package cyberdb
