package main

import (
	"encoding/json"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: 2^subBits buckets per power of
// two, so a recorded latency is off by at most 1/64 (1.6%).
const subBits = 6

// hist is a log-linear latency histogram that merges across goroutines
// and processes. It is not safe for concurrent use.
type hist struct {
	counts []uint64 // by bucket index
	n      uint64
}

func newHist() *hist { return &hist{} }

// bucket returns the index of the bucket holding v nanoseconds.
func bucket(v uint64) int {
	if v < 2<<subBits {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)<<subBits + int(v>>shift) - 1<<subBits
}

// bucketValue returns the middle of bucket i, in nanoseconds.
func bucketValue(i int) uint64 {
	if i < 2<<subBits {
		return uint64(i)
	}
	shift := i>>subBits - 1
	lo := uint64(i&(1<<subBits-1)+1<<subBits) << shift
	return lo + (uint64(1)<<shift)/2
}

// add records one latency.
func (h *hist) add(d time.Duration) {
	i := bucket(uint64(max(d, 0)))
	if i >= len(h.counts) {
		h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
	}
	h.counts[i]++
	h.n++
}

// merge adds o's records to h.
func (h *hist) merge(o *hist) {
	if o == nil {
		return
	}
	if len(o.counts) > len(h.counts) {
		h.counts = append(h.counts, make([]uint64, len(o.counts)-len(h.counts))...)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// quantile returns the latency below which a fraction q of the records
// fall (nearest rank), or 0 when h is empty.
func (h *hist) quantile(q float64) time.Duration {
	if h == nil || h.n == 0 {
		return 0
	}
	rank := max(uint64(q*float64(h.n)+0.5), 1)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return time.Duration(bucketValue(i))
		}
	}
	return time.Duration(bucketValue(len(h.counts) - 1))
}

// MarshalJSON encodes the non-empty buckets as [index, count] pairs.
func (h *hist) MarshalJSON() ([]byte, error) {
	pairs := [][2]uint64{}
	for i, c := range h.counts {
		if c > 0 {
			pairs = append(pairs, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(pairs)
}

// UnmarshalJSON decodes what MarshalJSON encoded.
func (h *hist) UnmarshalJSON(b []byte) error {
	var pairs [][2]uint64
	if err := json.Unmarshal(b, &pairs); err != nil {
		return err
	}
	*h = hist{}
	for _, p := range pairs {
		if p[0] > 1<<16 {
			continue // not a bucket this code produces
		}
		i := int(p[0])
		if i >= len(h.counts) {
			h.counts = append(h.counts, make([]uint64, i+1-len(h.counts))...)
		}
		h.counts[i] += p[1]
		h.n += p[1]
	}
	return nil
}
