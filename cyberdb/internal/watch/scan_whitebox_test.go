package watch

import (
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/engine"
)

func TestHistory_Scan_Limit(t *testing.T) {
	// One scan examines at most scanLimit events, plus the rest of the
	// revision it is in, and stops at a whole revision.
	tests := []struct {
		name    string
		perRev  int
		wantPos uint64
	}{
		{"single events", 1, scanLimit},
		{"revisions across the limit", 3, (scanLimit + 2) / 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &history{name: "t"}
			var evs []engine.Event
			for i := range 3 * scanLimit {
				evs = append(evs, engine.Event{Rev: uint64(1 + i/tt.perRev), Key: "b"})
			}
			h.publish(evs, len(evs), 1<<30)
			c := &cursor{q: Query{Key: "a", Max: 10, MaxBytes: 1 << 20}, started: true}
			if more := h.scan(c, 0); !more || c.pos != tt.wantPos || len(c.out) != 0 {
				t.Fatalf("more %v, pos %d, %d events; want more at %d", more, c.pos, len(c.out), tt.wantPos)
			}
		})
	}
}
