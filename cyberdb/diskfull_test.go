package cyberdb_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cyberdb-go/cyberdb/cyberdb"
	"github.com/cyberdb-go/cyberdb/cyberdb/internal/ctest"
)

// smallDisk mounts a tmpfs of size bytes in a new directory, or skips
// the test when this machine does not allow it (mounting needs root).
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(ctest.Dir(t), "disk")
	must(t, os.Mkdir(dir, 0o700))
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a ballast file that leaves about free bytes of disk.
func fill(t *testing.T, dir string, free int64) string {
	t.Helper()
	path := filepath.Join(dir, "ballast")
	f, err := os.Create(path)
	must(t, err)
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		var st statfs
		must(t, statFS(dir, &st))
		if st.avail() <= free {
			return path
		}
		if _, err := f.Write(chunk); err != nil {
			return path
		}
	}
}

// TestDurability_DiskFull fills the disk under the log: writes must fail
// with ErrIO, in Always mode a failed write must not be applied, and
// writes must succeed again once there is room.
func TestDurability_DiskFull(t *testing.T) {
	for _, mode := range []cyberdb.Durability{cyberdb.Always, cyberdb.Interval} {
		t.Run(mode.String(), func(t *testing.T) {
			disk := smallDisk(t, 16<<20)
			db := openLeaderWith(t, ctest.Dir(t), func(o *cyberdb.Options) {
				o.Durability = mode
				o.CommitInterval = 5 * time.Millisecond
				o.BackupPath = filepath.Join(disk, "data.cdb")
			})
			ctx := testCtx(t)
			d, err := db.CreateDict(ctx, "d")
			must(t, err)
			ballast := fill(t, disk, 64<<10)
			value := strings.Repeat("x", 1024)
			failed := ""
			for i := 0; i < 20000 && failed == ""; i++ {
				key := fmt.Sprintf("k%d", i)
				if err := d.Set(ctx, key, value); err != nil {
					if !errors.Is(err, cyberdb.ErrIO) {
						t.Fatalf("write on a full disk: %v, want ErrIO", err)
					}
					t.Logf("write %d: %v", i, err)
					failed = key
				}
			}
			if failed == "" {
				t.Fatal("20000 writes of 1 KiB fit on a disk with 64 KiB free")
			}
			if mode == cyberdb.Always {
				if ok, err := d.Has(ctx, failed); err != nil || ok {
					t.Fatalf("the write that failed is visible: %v, %v", ok, err)
				}
			}
			must(t, os.Remove(ballast))
			ctest.Eventually(t, 10*time.Second, "writes succeed once there is room", func() bool {
				return d.Set(ctx, "after", value) == nil
			})
		})
	}
}
