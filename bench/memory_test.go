package main

import "testing"

func TestParseStatm(t *testing.T) {
	got, err := parseStatm("12345 678 90 1 0 2 0\n", 4096)
	if err != nil || got != 678*4096 {
		t.Errorf("parseStatm = %d, %v; want %d", got, err, 678*4096)
	}
	for _, bad := range []string{"", "12", "1 x 3"} {
		if _, err := parseStatm(bad, 4096); err == nil {
			t.Errorf("parseStatm(%q): no error", bad)
		}
	}
}

func TestInfoField(t *testing.T) {
	info := "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_rss:2000000\r\n"
	if got, err := infoField(info, "used_memory"); err != nil || got != 1048576 {
		t.Errorf("used_memory = %d, %v", got, err)
	}
	if got, err := infoField(info, "used_memory_rss"); err != nil || got != 2000000 {
		t.Errorf("used_memory_rss = %d, %v", got, err)
	}
	if _, err := infoField(info, "used_memory_peak"); err == nil {
		t.Errorf("missing field: no error")
	}
}

func TestPauseStats_Add(t *testing.T) {
	var p pauseStats
	p.add(3, true, nil)
	p.add(5, false, nil)
	p.add(9, true, nil)
	p.add(100, false, errEmpty)
	if p.MaxIn != 9 || p.MaxOut != 5 || p.CallsIn != 2 || p.CallsOut != 1 || p.Errors != 1 || p.FirstErr == "" {
		t.Errorf("pauseStats = %+v", p)
	}
}
