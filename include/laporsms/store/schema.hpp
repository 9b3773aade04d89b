// The database schema as numbered migrations, applied in order at start-up
// and recorded in PRAGMA user_version.
#pragma once

#include <laporsms/store/sqlite.hpp>

namespace laporsms::store {

// The schema version this build writes.
int current_schema_version();

// Brings the schema up to `target` (current_schema_version() but in tests
// of the upgrade path) in one transaction. Throws SchemaError when the file
// is not a database we can use: a newer schema (written by a later
// laporsms), or a failed integrity check.
void migrate(Connection& db, int target = current_schema_version());

class SchemaError : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

} // namespace laporsms::store
