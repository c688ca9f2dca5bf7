package journal

import bolt "go.etcd.io/bbolt"

// ReplayOpen is Replay over the journal's own open file, for a caller that
// must rebuild its state from what is committed while the journal stays
// open. It sees only committed records.
func (j *Journal) ReplayOpen(after uint64, fn func(lsn uint64, rec []byte) error) (uint64, error) {
	r := &replayer{path: j.path, last: after, fn: fn}
	err := j.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketLog)
		if b == nil {
			return nil
		}
		return r.run(b.Cursor())
	})
	if r.fnErr != nil {
		return r.last, r.fnErr
	}
	return r.last, err
}
