package cyberdb

import (
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
	"github.com/cyberdb-go/cyberdb/ipc"
)

// The state of a snapshot decodes in its current form and in the form of
// earlier versions, a bare client table.
func TestSavedState_Forms(t *testing.T) {
	l := &leader{db: &DB{codec: ipc.DefaultCodec}}
	writes := []savedWrites{{Client: 7, Ack: 2, Results: map[uint64]engine.Result{3: {Int: 9}}}}
	old, err := ipc.DefaultCodec.Marshal(writes)
	if err != nil {
		t.Fatal(err)
	}
	cur, err := ipc.DefaultCodec.Marshal(savedState{Writes: writes, History: []savedHistory{
		{Table: "d", Base: 4, Events: []engine.Event{{Rev: 5, Type: engine.EventSet, Table: "d", Key: "k", Value: []byte{1}}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"earlier": old, "current": cur} {
		s, err := l.loadState(b)
		if err != nil || len(s.Writes) != 1 || s.Writes[0].Results[3].Int != 9 {
			t.Fatalf("%s form: %+v, %v", name, s, err)
		}
		if name == "current" && (len(s.History) != 1 || s.History[0].Events[0].Key != "k") {
			t.Fatalf("history lost: %+v", s.History)
		}
	}
	if s, err := l.loadState(nil); err != nil || len(s.Writes) != 0 {
		t.Fatalf("empty state: %+v, %v", s, err)
	}
	if _, err := l.loadState([]byte{0xa1, 0xff}); err == nil {
		t.Fatal("a malformed state decoded")
	}
}
