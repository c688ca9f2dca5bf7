package cyberdb

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
	"github.com/cyberdb-go/cyberdb/transport"
)

// openTestLeader opens a fresh store in Always mode, where a reply waits
// for the writes it acknowledges, and returns its leader role.
func openTestLeader(t *testing.T) (*DB, *leader) {
	t.Helper()
	o := DefaultOptions()
	o.Durability = Always
	o.BackupInterval = -1
	o.Logger = slog.New(slog.DiscardHandler)
	db, err := Open(ctest.Dir(t), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	l, ok := db.cur.Load().r.(*leader)
	if !ok {
		t.Fatal("the first DB of a fresh directory is not the leader")
	}
	if _, err := db.CreateDict(context.Background(), "c"); err != nil {
		t.Fatal(err)
	}
	return db, l
}

// handleRequest sends op to the leader as client 99 would and decodes the reply.
func handleRequest(t *testing.T, db *DB, l *leader, op *engine.Op) (engine.Result, uint64) {
	t.Helper()
	req, err := db.codec.Marshal(op)
	if err != nil {
		t.Fatal(err)
	}
	peer := &ipc.Peer{ClientID: 99, Cred: transport.Cred{UID: uint32(os.Geteuid())}}
	reply, mark := l.HandleMarked(peer, req, nil)
	var res engine.Result
	if err := db.codec.Unmarshal(reply, &res); err != nil {
		t.Fatal(err)
	}
	return res, mark
}

// incrOp returns an increment of counter n of dict c numbered seq.
func incrOp(delta int64, seq uint64) engine.Op {
	return engine.Op{Code: engine.OpDictIncr, Table: "c", Key: "n", Delta: delta, Seq: seq, Ack: 1}
}

func TestLeader_BatchResentAppliesWritesOnce(t *testing.T) {
	db, l := openTestLeader(t)
	get := engine.Op{Code: engine.OpDictGet, Table: "c", Key: "n"}
	op := engine.Op{Code: engine.OpBatch, Ops: []engine.Op{incrOp(1, 1), incrOp(10, 2), get}}
	first, mark := handleRequest(t, db, l, &op)
	last := l.j.Last()
	again, markAgain := handleRequest(t, db, l, &op)
	for name, res := range map[string]engine.Result{"first": first, "resent": again} {
		if len(res.Results) != 3 || res.Results[0].Int != 1 || res.Results[1].Int != 11 {
			t.Fatalf("%s: %+v; want the increments' results 1 and 11", name, res)
		}
	}
	if mark != last || markAgain != mark {
		t.Fatalf("marks %d and %d: want the LSN of the last write, %d, twice", mark, markAgain, last)
	}
	var n int64
	if _, err := (&Dict{db: db, name: "c"}).Get(context.Background(), "n", &n); err != nil || n != 11 {
		t.Fatalf("counter = %d, %v; want 11: each write applied once", n, err)
	}
	next, _ := handleRequest(t, db, l, &engine.Op{Code: engine.OpBatch, Ops: []engine.Op{incrOp(1, 3)}})
	if next.Results[0].Int != 12 {
		t.Fatalf("a new write after the resent batch: %+v, want 12", next.Results[0])
	}
}

func TestLeader_BatchRefusesWhatItCannotHold(t *testing.T) {
	db, l := openTestLeader(t)
	for _, code := range []engine.Code{engine.OpBatch, engine.OpSave, engine.OpLoad} {
		op := engine.Op{Code: engine.OpBatch, Ops: []engine.Op{
			incrOp(1, uint64(2*code)), {Code: code, Field: t.TempDir() + "/x"}, incrOp(1, uint64(2*code+1)),
		}}
		res, _ := handleRequest(t, db, l, &op)
		if len(res.Results) != 3 || res.Results[1].Err != engine.ErrInvalid {
			t.Fatalf("code %d in a batch: %+v; want ErrInvalid for it alone", code, res)
		}
		if res.Results[0].Err != engine.OK || res.Results[2].Err != engine.OK {
			t.Fatalf("code %d in a batch stopped the others: %+v", code, res)
		}
	}
	for _, n := range []int{0, maxBatch + 1} {
		op := engine.Op{Code: engine.OpBatch, Ops: make([]engine.Op, n)}
		if res, _ := handleRequest(t, db, l, &op); res.Err != engine.ErrInvalid || len(res.Results) != 0 {
			t.Fatalf("batch of %d: %+v; want ErrInvalid", n, res)
		}
	}
}

func TestLeader_BatchOfReadsHasNoMark(t *testing.T) {
	db, l := openTestLeader(t)
	get := engine.Op{Code: engine.OpDictGet, Table: "c", Key: "n"}
	if _, mark := handleRequest(t, db, l, &engine.Op{Code: engine.OpBatch, Ops: []engine.Op{get, get}}); mark != 0 {
		t.Fatalf("a batch of reads has mark %d: its reply would wait for nothing", mark)
	}
}

// remoteRole is a role standing for a leader in another process.
type remoteRole struct{ role }

func (remoteRole) isLeader() bool { return false }

func TestDB_NumberBatch(t *testing.T) {
	db := &DB{seqs: newSequencer()}
	op := engine.Op{Code: engine.OpBatch, Ops: []engine.Op{
		{Code: engine.OpDictGet}, {Code: engine.OpDictIncr}, {Code: engine.OpListAppend},
	}}
	if readOnly(&op) || !readOnly(&engine.Op{Code: engine.OpBatch, Ops: op.Ops[:1]}) {
		t.Fatal("readOnly of a batch is not that of all its operations")
	}
	db.number(&op, remoteRole{})
	read, w1, w2 := op.Ops[0], op.Ops[1], op.Ops[2]
	if read.Seq != 0 || w1.Seq == 0 || w2.Seq == 0 || w1.Seq == w2.Seq || op.Seq != 0 {
		t.Fatalf("numbers %d %d %d (batch %d): want none for the read and the batch, one for each write", read.Seq, w1.Seq, w2.Seq, op.Seq)
	}
	db.number(&op, remoteRole{}) // a retry keeps the numbers
	if op.Ops[1].Seq != w1.Seq || op.Ops[2].Seq != w2.Seq {
		t.Fatalf("a retry renumbered the writes: %d %d", op.Ops[1].Seq, op.Ops[2].Seq)
	}
	db.endWrite(&op)
	if ack := db.seqs.ack(); ack != w2.Seq+1 {
		t.Fatalf("ack after the batch = %d, want %d: every write answered", ack, w2.Seq+1)
	}
	local := engine.Op{Code: engine.OpBatch, Ops: []engine.Op{{Code: engine.OpDictIncr}}}
	db.number(&local, &leader{})
	if local.Ops[0].Seq != 0 {
		t.Fatal("a batch applied by this process's own leader was numbered")
	}
}
