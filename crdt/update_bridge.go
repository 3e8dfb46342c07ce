package crdt

// The document needs the Doc-less update operations of updates.go for its
// pending structs: merging a new rest into the pending update, and
// including pending data in EncodeStateAsUpdate (as yjs does).

func mergeUpdatesV2(updates [][]byte) ([]byte, error) { return MergeUpdatesV2(updates) }

func mergeUpdatesV1(updates [][]byte) ([]byte, error) { return MergeUpdates(updates) }

func diffUpdateV2(update, sv []byte) ([]byte, error) { return DiffUpdateV2(update, sv) }

func convertUpdateFormatV2ToV1(update []byte) ([]byte, error) {
	return ConvertUpdateFormatV2ToV1(update)
}
