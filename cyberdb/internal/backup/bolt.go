package backup

import "encoding/binary"

// The bbolt file format, version 2, as far as this package writes and
// checks it. bbolt stores integers in the byte order of the machine.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	pageHeaderSize = 16 // id uint64, flags uint16, count uint16, overflow uint32
	elementSize    = 16 // branch: pos, ksize uint32, pgid uint64; leaf: flags, pos, ksize, vsize uint32
	metaSumOffset  = 56 // the meta checksum covers the meta up to here
	metaSize       = 64
	flagBranch     = 0x01
	flagLeaf       = 0x02
	flagMeta       = 0x04
	flagFreelist   = 0x10
	bucketLeafFlag = 0x01
	bucketHeader   = 16 // root pgid uint64, sequence uint64
)

// Offsets of the fields of a meta, after its page header.
const (
	metaMagic    = 0  // uint32
	metaVersion  = 4  // uint32
	metaPageSize = 8  // uint32
	metaRoot     = 16 // uint64, then the root bucket's sequence
	metaFreelist = 32 // uint64
	metaHWM      = 40 // uint64: pages in use
	metaTxid     = 48 // uint64
)

var ne = binary.NativeEndian
