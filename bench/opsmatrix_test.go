package main

import (
	"slices"
	"testing"
)

func TestParseSizes(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		err  bool
	}{
		{"16,256,4096", []int{16, 256, 4096}, false},
		{"16B, 4k, 4KiB, 1KB, 2K", []int{16, 4096, 4096, 1024, 2048}, false},
		{"0", []int{0}, false},
		{"", nil, true},
		{"4MiB", nil, true},
		{"-1", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseSizes(tt.in)
			if (err != nil) != tt.err || !slices.Equal(got, tt.want) {
				t.Errorf("parseSizes(%q) = %v, %v; want %v, error %t", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

func TestParseNames(t *testing.T) {
	if got, err := parseNames("get, mix", "workloads", opsWorkloads); err != nil || !slices.Equal(got, []string{"get", "mix"}) {
		t.Errorf("parseNames = %v, %v", got, err)
	}
	for _, bad := range []string{"", "get,hget", ","} {
		if _, err := parseNames(bad, "workloads", opsWorkloads); err == nil {
			t.Errorf("parseNames(%q): no error", bad)
		}
	}
}

func TestDefaultMatrix(t *testing.T) {
	m := defaultMatrix()
	if len(m) != 26 {
		t.Fatalf("default matrix has %d cells, want 26", len(m))
	}
	seen := map[opsCell]bool{}
	for _, c := range m {
		if seen[c] {
			t.Errorf("cell %+v twice", c)
		}
		seen[c] = true
	}
	for _, want := range []opsCell{
		{"get", 16, 1, 1, 1}, {"list", 16, 1, 64, 1}, {"mix", 16, 4, 16, 1},
		{"set", 4096, 1, 16, 1}, {"mix", 16, 1, 16, 16},
	} {
		if !seen[want] {
			t.Errorf("default matrix lacks %+v", want)
		}
	}
}

func TestOpsConfig_Matrix_Explicit(t *testing.T) {
	o := &opsConfig{explicit: true, workloads: []string{"get", "set"}, sizes: []int{16, 4096},
		goroutines: []int{1, 64}, procs: []int{1, 4}, batches: []int{1, 16}}
	m := o.matrix()
	if len(m) != 32 {
		t.Fatalf("cross product has %d cells, want 32", len(m))
	}
	if !slices.Contains(m, opsCell{"set", 4096, 4, 64, 16}) {
		t.Errorf("cross product lacks the last combination")
	}
}

func TestBySize(t *testing.T) {
	cells := []opsCell{{"get", 256, 1, 1, 1}, {"get", 16, 1, 1, 1}, {"set", 256, 1, 1, 1}, {"set", 16, 1, 1, 16}}
	g := bySize(cells)
	if len(g) != 2 || g[0][0].ValueSize != 16 || g[1][0].ValueSize != 256 {
		t.Fatalf("bySize = %v", g)
	}
	if g[1][0].Workload != "get" || g[1][1].Workload != "set" {
		t.Errorf("order within a group changed: %v", g[1])
	}
}

func TestTableOrder(t *testing.T) {
	cells := []opsCell{{"get", 16, 1, 1, 16}, {"get", 256, 1, 16, 1}, {"get", 16, 4, 16, 1}, {"get", 16, 1, 64, 1}, {"get", 16, 1, 1, 1}}
	want := []opsCell{{"get", 16, 1, 1, 1}, {"get", 16, 1, 64, 1}, {"get", 16, 4, 16, 1}, {"get", 256, 1, 16, 1}, {"get", 16, 1, 1, 16}}
	if got := tableOrder(cells); !slices.Equal(got, want) {
		t.Errorf("tableOrder = %v, want %v", got, want)
	}
}

func TestOpsCell_Label(t *testing.T) {
	tests := []struct {
		c    opsCell
		want string
	}{
		{opsCell{"get", 16, 1, 64, 1}, "16B 1p×64g"},
		{opsCell{"get", 4096, 4, 16, 1}, "4KiB 4p×16g"},
		{opsCell{"mix", 16, 1, 1, 16}, "16B 1p×1g batch16"},
	}
	for _, tt := range tests {
		if got := tt.c.label(); got != tt.want {
			t.Errorf("label(%+v) = %q, want %q", tt.c, got, tt.want)
		}
	}
}
