package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cyberdb-go/cyberdb/cyberdb"
)

func TestRun(t *testing.T) {
	dir, err := os.MkdirTemp("", "cdb")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	db, err := cyberdb.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.CreateDict(ctx, "centre"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CreateList(ctx, "jobs", []string{"a", "b"}); err != nil {
		t.Fatal(err)
	}
	backupFile := filepath.Join(dir, "export.cdb")
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"set", "centre", "content", `"Hello CyberDB!"`}, ""},
		{[]string{"get", "centre", "content"}, `"Hello CyberDB!"`},
		{[]string{"incr", "centre", "hits", "5"}, "5"},
		{[]string{"get", "jobs", "-1"}, `"b"`},
		{[]string{"tables"}, "centre\tdict\njobs\tlist"},
		{[]string{"save", backupFile}, ""},
		{[]string{"inspect", backupFile}, "centre\tdict\t2\njobs\tlist\t2"},
	}
	for _, s := range steps {
		var out bytes.Buffer
		if err := run(ctx, dir, s.args, &out); err != nil {
			t.Fatalf("%v: %v", s.args, err)
		}
		if got := strings.TrimSpace(out.String()); got != s.want {
			t.Fatalf("%v printed %q, want %q", s.args, got, s.want)
		}
	}
	for _, args := range [][]string{{"get"}, {"nope"}, {"set", "centre", "k"}} {
		if err := run(ctx, dir, args, new(bytes.Buffer)); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
	if err := run(ctx, dir, []string{"get", "missing"}, new(bytes.Buffer)); !errors.Is(err, cyberdb.ErrNoTable) {
		t.Errorf("get of a missing table: %v", err)
	}
}
