package store_test

import (
	"testing"

	"synclayer"
	"synclayer/store/storetest"
)

func TestStore_SQLite(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(tb testing.TB) synclayer.Store { return storetest.OpenSQLite(tb) })
}

func TestStore_Postgres(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(tb testing.TB) synclayer.Store { return storetest.OpenPostgres(tb) })
}
