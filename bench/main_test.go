package main

import (
	"slices"
	"testing"
	"time"
)

func TestParseFlags_Defaults(t *testing.T) {
	c, err := parseFlags(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.suites, []string{"ops", "durability", "takeover", "memory", "snapshot", "primitives"}) {
		t.Errorf("suites = %v", c.suites)
	}
	if c.ops.explicit || len(c.ops.matrix()) != len(defaultMatrix()) {
		t.Errorf("no matrix flag given, yet explicit")
	}
	if c.procs != 1 || !slices.Equal(c.sizes, []int{100_000, 1_000_000}) || !slices.Equal(c.ops.sizes, []int{16, 256, 4096}) {
		t.Errorf("procs %d, takeover sizes %v, ops sizes %v", c.procs, c.sizes, c.ops.sizes)
	}
}

func TestParseFlags_Renamed(t *testing.T) {
	c, err := parseFlags([]string{"-suite", "ops,takeover", "-writer-procs", "3", "-takeover-keys", "1000",
		"-procs", "2", "-sizes", "64", "-ops-duration", "1s"})
	if err != nil {
		t.Fatal(err)
	}
	if c.procs != 3 || !slices.Equal(c.sizes, []int{1000}) {
		t.Errorf("durability procs %d, takeover sizes %v", c.procs, c.sizes)
	}
	if !c.ops.explicit || !slices.Equal(c.ops.procs, []int{2}) || !slices.Equal(c.ops.sizes, []int{64}) || c.ops.duration != time.Second {
		t.Errorf("ops config %+v", c.ops)
	}
	if n := len(c.ops.matrix()); n != 5*3*2 {
		t.Errorf("matrix has %d cells, want %d", n, 5*3*2)
	}
}

func TestParseFlags_Invalid(t *testing.T) {
	for _, args := range [][]string{
		{"-suite", "nope"},
		{"-workloads", "hget"},
		{"-targets", "memcached"},
		{"-zipf", "0.5"},
		{"-ops-redis-fsync", "sometimes"},
		{"-ops-mode", "eventually"},
		{"-snapshots", "0"},
		{"-goroutines", "0"},
		{"-prim-rows", "hset"},
		{"-prim-clients", "0"},
		{"-prim-consumers", "0"},
		{"-prim-mode", "eventually"},
		{"-prim-redis-fsync", "sometimes"},
		{"-prim-duration", "0s"},
	} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}
