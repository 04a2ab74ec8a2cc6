//! How a [`Placement`] is stored: the `node` column's text, `local` or the node's name, as
//! every schema version has kept it (so no migration was needed to type it).

use crate::placement::Placement;
use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

impl ToSql for Placement {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(
            self.as_str().as_bytes(),
        )))
    }
}

impl FromSql for Placement {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Placement> {
        value.as_str().map(Placement::parse)
    }
}
