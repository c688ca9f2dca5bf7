package main

import (
	"encoding/json"
	"testing"
	"time"
)

func TestBucket_RoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 123456, 1 << 40, 1<<63 + 12345} {
		i := bucket(v)
		mid := bucketValue(i)
		if diff := float64(mid) - float64(v); diff > float64(v)/64+1 || -diff > float64(v)/64+1 {
			t.Errorf("v=%d: bucket %d middle %d, off by more than 1/64", v, i, mid)
		}
		if i > 0 && bucket(v) < bucket(v-1) {
			t.Errorf("v=%d: bucket decreases", v)
		}
	}
}

func TestHist_Quantile(t *testing.T) {
	h := newHist()
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Microsecond)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var g hist
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {1, 1000 * time.Microsecond}}
	for _, tt := range tests {
		got := g.quantile(tt.q)
		if d := got - tt.want; d > tt.want/50 || -d > tt.want/50 {
			t.Errorf("quantile(%v) = %v, want about %v", tt.q, got, tt.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 6, 7, 8, 9, 10}
	if got := percentile(ds, 0.5); got != 5 {
		t.Errorf("p50 = %v, want 5", got)
	}
	if got := percentile(ds, 0.99); got != 10 {
		t.Errorf("p99 = %v, want 10", got)
	}
}
