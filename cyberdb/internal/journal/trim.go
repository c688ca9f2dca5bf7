package journal

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// trimBatch is how many records one transaction of Trim or Truncate
// deletes, so that commits are never held up for long.
const trimBatch = 4096

// Trim deletes the committed records with LSN up to upto, once a snapshot
// covers them, in transactions of bounded size.
func (j *Journal) Trim(upto uint64) error {
	upto = min(upto, j.Durable())
	err := j.deleteWhile(func(c *bolt.Cursor) []byte {
		k, _ := c.First()
		if lsn, ok := keyLSN(k); k == nil || (ok && lsn > upto) {
			return nil
		}
		return k
	})
	if err != nil {
		return fmt.Errorf("cyberdb: trim log %s up to %d: %w", j.path, upto, err)
	}
	return nil
}

// Truncate deletes every record with LSN above after, such as the damaged
// tail that Replay reported, so that the next Append assigns after+1 and
// a later Replay reaches the records appended from then on. It must be
// called before the first Append.
func (j *Journal) Truncate(after uint64) error {
	j.mu.Lock()
	pending := len(j.recs) > 0 || j.flying != nil
	j.mu.Unlock()
	if pending {
		return fmt.Errorf("cyberdb: truncate log %s: records are pending", j.path)
	}
	err := j.deleteWhile(func(c *bolt.Cursor) []byte {
		k, _ := c.Last()
		if lsn, ok := keyLSN(k); k == nil || (ok && lsn <= after) {
			return nil
		}
		return k
	})
	if err != nil {
		return fmt.Errorf("cyberdb: truncate log %s after %d: %w", j.path, after, err)
	}
	j.mu.Lock()
	j.last, j.durable = after, min(j.durable, after)
	j.mu.Unlock()
	return nil
}

// deleteWhile deletes the keys next returns, until it returns nil, in
// transactions of at most trimBatch deletions.
func (j *Journal) deleteWhile(next func(*bolt.Cursor) []byte) error {
	for more := true; more; {
		err := j.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketLog)
			c := b.Cursor()
			var kb [8]byte
			for range trimBatch {
				k := next(c)
				if k == nil {
					more = false
					return nil
				}
				if err := b.Delete(append(kb[:0], k...)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
