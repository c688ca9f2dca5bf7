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
// When the leader process exits, its clients notice at once (or, for a
// hung leader, after the keepalive timeout), one of them takes the lock,
// restores from the backup file and serves the rest. Reads in flight are
// retried on the new leader; writes in flight return ErrLeaderLost, since
// they may or may not have been applied.
//
// # Durability
//
// The leader snapshots every table to the backup file (default data.cdb
// in the directory) every Options.BackupInterval (default 5 minutes) and
// when it closes. A snapshot is consistent: it never holds a table half
// changed. A leader that is killed loses the writes since its last
// snapshot. Save and Load export and import the whole store.
//
// # Caveats
//
// The directory must be on a local file system: flock does not elect
// reliably over NFS, and Open refuses network file systems. Only
// processes of the same user may attach unless Options.AllowUIDs or
// AllowGIDs name others. Values are compared by their encoding (for
// List.Remove, Count, Index and Dict.CompareAndSwap), so the integer 1
// and the float 1.0 differ. A message, and so a value or a whole-table
// read such as ToMap, is limited to Options.MaxMessageSize (64 MiB).
package cyberdb
