package crdt

import "errors"

// The Doc-less update operations (yjs updates.js) live in updates.go. The
// document needs them for its pending structs: merging a new rest into the
// pending update, and including pending data in EncodeStateAsUpdate. These
// wrappers are the only place the document calls them.

var errNoUpdateOps = errors.New("crdt: update merging is not available yet")

func mergeUpdatesV2(updates [][]byte) ([]byte, error) { return nil, errNoUpdateOps }

func mergeUpdatesV1(updates [][]byte) ([]byte, error) { return nil, errNoUpdateOps }

func diffUpdateV2(update, sv []byte) ([]byte, error) { return nil, errNoUpdateOps }

func convertUpdateFormatV2ToV1(update []byte) ([]byte, error) { return nil, errNoUpdateOps }
