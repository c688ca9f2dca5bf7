package cyberdb

import (
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// A cancellation that overtakes its call ends the call at once when it
// comes; cancellations of calls never made are bounded in number.
func TestWaits_EarlyCancel(t *testing.T) {
	var w waits
	w.cancel(1, 7)
	if !ctest.Closed(w.add(1, 7)) {
		t.Fatal("a call canceled before it came is not canceled")
	}
	w.remove(1, 7)
	if ch := w.add(2, 7); ctest.Closed(ch) {
		t.Fatal("another client's call with the same tag is canceled")
	}
	for tag := range uint64(maxEarlyCancels + 10) {
		w.cancel(3, tag+1)
	}
	if n := len(w.canceled); n > maxEarlyCancels {
		t.Fatalf("%d early cancellations kept, more than %d", n, maxEarlyCancels)
	}
	if w.add(4, 0) != nil {
		t.Fatal("an untagged call can be canceled")
	}
}
