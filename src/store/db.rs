//! The one connection the store talks through, to an SQLite file or a
//! PostgreSQL server: statements, rows and transactions in one shape, so
//! the store's logic is written once and only the SQL that the two
//! dialects spell differently is kept apart (see [`Db::dialect`]).
//!
//! Statements are written with SQLite's numbered parameters (`?1`); for
//! PostgreSQL they are renumbered `$1` once, when first prepared. Both
//! backends cache prepared statements by their text.
//!
//! PostgreSQL is reached with `tokio-postgres`, whose connection is driven
//! on a thread of its own: the store is synchronous (it is called between
//! awaits, as SQLite is), and blocking on a query from a task of the
//! caller's runtime would otherwise wait on a connection that runtime
//! itself must drive.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use tokio_postgres::types::{FromSql as PgFromSql, ToSql as PgToSql};

/// Which SQL dialect a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// A failure of either backend.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite's own error.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL's (or its connection's) error.
    #[error(transparent)]
    Postgres(#[from] tokio_postgres::Error),
    /// A query that must return a row returned none.
    #[error("no row returned")]
    NoRow,
    /// The connection's thread could not be started or stopped early.
    #[error("PostgreSQL connection: {0}")]
    Connection(String),
}

/// A statement's parameters, as a slice for [`Db::execute`] and the
/// queries: `params![a, b]`.
macro_rules! params {
    ($($p:expr),* $(,)?) => {
        &[$(&$p as &dyn $crate::store::db::Param),*] as &[&dyn $crate::store::db::Param]
    };
}
pub(crate) use params;

/// A value bound to a statement: anything both drivers can send.
pub(crate) trait Param: rusqlite::ToSql + PgToSql + Sync {}
impl<T: rusqlite::ToSql + PgToSql + Sync> Param for T {}

/// A value read from a row: anything both drivers can decode.
pub(crate) trait Get: rusqlite::types::FromSql + for<'a> PgFromSql<'a> {}
impl<T: rusqlite::types::FromSql + for<'a> PgFromSql<'a>> Get for T {}

/// One row of a result, from either backend.
pub(crate) enum Row<'a> {
    /// An SQLite row.
    Sqlite(&'a rusqlite::Row<'a>),
    /// A PostgreSQL row.
    Postgres(&'a tokio_postgres::Row),
}

impl Row<'_> {
    /// Column `index` (from 0) as `T`.
    pub(crate) fn get<T: Get>(&self, index: usize) -> Result<T, DbError> {
        match self {
            Self::Sqlite(r) => Ok(r.get(index)?),
            Self::Postgres(r) => Ok(r.try_get(index)?),
        }
    }
}

/// A PostgreSQL connection driven on its own thread.
pub(crate) struct Pg {
    client: tokio_postgres::Client,
    statements: RefCell<HashMap<String, tokio_postgres::Statement>>,
    in_transaction: Cell<bool>,
    /// Drives the connection; it ends when the client is dropped.
    _driver: std::thread::JoinHandle<()>,
}

/// The connection itself.
enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Pg),
}

/// The store's connection (see the module doc).
pub(crate) struct Db {
    backend: Backend,
}

/// `?N` parameters renumbered as PostgreSQL's `$N`, outside quoted text.
fn renumbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

impl Db {
    /// An SQLite connection.
    pub(crate) fn sqlite(conn: rusqlite::Connection) -> Self {
        Self {
            backend: Backend::Sqlite(conn),
        }
    }

    /// Connects to the PostgreSQL server at `url` (`postgres://…`).
    ///
    /// # Errors
    /// When the server cannot be reached or refuses the login.
    pub(crate) fn postgres(url: &str) -> Result<Self, DbError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let url = url.to_owned();
        let driver = std::thread::Builder::new()
            .name("feedloom-postgres".into())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Err(DbError::Connection(e.to_string())));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match tokio_postgres::connect(&url, tokio_postgres::NoTls).await {
                        Ok((client, connection)) => {
                            let _ = tx.send(Ok(client));
                            if let Err(e) = connection.await {
                                tracing::warn!(error = %e, "The PostgreSQL connection ended.");
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(DbError::Postgres(e)));
                        }
                    }
                });
            })
            .map_err(|e| DbError::Connection(e.to_string()))?;
        let client = rx
            .recv()
            .map_err(|_| DbError::Connection("its thread ended before connecting".into()))??;
        Ok(Self {
            backend: Backend::Postgres(Pg {
                client,
                statements: RefCell::new(HashMap::new()),
                in_transaction: Cell::new(false),
                _driver: driver,
            }),
        })
    }

    /// The dialect this connection speaks.
    pub(crate) fn dialect(&self) -> Dialect {
        match self.backend {
            Backend::Sqlite(_) => Dialect::Sqlite,
            Backend::Postgres(_) => Dialect::Postgres,
        }
    }

    /// `sqlite` or `postgres`, whichever this connection speaks.
    pub(crate) fn pick<'s>(&self, sqlite: &'s str, postgres: &'s str) -> &'s str {
        match self.dialect() {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }

    /// The SQLite connection, for what only SQLite has (pragmas, blobs,
    /// `VACUUM INTO`); `None` on PostgreSQL.
    pub(crate) fn as_sqlite(&self) -> Option<&rusqlite::Connection> {
        match &self.backend {
            Backend::Sqlite(c) => Some(c),
            Backend::Postgres(_) => None,
        }
    }

    fn pg_statement(pg: &Pg, sql: &str) -> Result<tokio_postgres::Statement, DbError> {
        if let Some(s) = pg.statements.borrow().get(sql) {
            return Ok(s.clone());
        }
        let statement = futures::executor::block_on(pg.client.prepare(&renumbered(sql)))?;
        pg.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn pg_params<'p>(params: &'p [&'p dyn Param]) -> Vec<&'p (dyn PgToSql + Sync)> {
        params.iter().map(|p| *p as &(dyn PgToSql + Sync)).collect()
    }

    /// Runs one statement; how many rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<usize, DbError> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.prepare_cached(sql)?.execute(
                rusqlite::params_from_iter(params.iter().map(|p| *p as &dyn rusqlite::ToSql)),
            )?),
            Backend::Postgres(pg) => {
                let statement = Self::pg_statement(pg, sql)?;
                let n = futures::executor::block_on(
                    pg.client.execute(&statement, &Self::pg_params(params)),
                )?;
                Ok(usize::try_from(n).unwrap_or(usize::MAX))
            }
        }
    }

    /// Runs several statements whose results are not needed, in order. On
    /// PostgreSQL they are sent together and their answers read together
    /// (pipelined): one round trip instead of one each, which is most of a
    /// statement's cost there.
    pub(crate) fn execute_all<'a>(
        &self,
        statements: impl IntoIterator<Item = (&'a str, &'a [&'a dyn Param])>,
    ) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(_) => {
                for (sql, params) in statements {
                    self.execute(sql, params)?;
                }
                Ok(())
            }
            Backend::Postgres(pg) => {
                let mut prepared = Vec::new();
                for (sql, params) in statements {
                    prepared.push((Self::pg_statement(pg, sql)?, Self::pg_params(params)));
                }
                let sent = prepared
                    .iter()
                    .map(|(statement, params)| pg.client.execute(statement, params));
                futures::executor::block_on(futures::future::try_join_all(sent))?;
                Ok(())
            }
        }
    }

    /// Runs statements without parameters, separated by `;`.
    pub(crate) fn batch(&self, sql: &str) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(c) => Ok(c.execute_batch(sql)?),
            Backend::Postgres(pg) => Ok(futures::executor::block_on(pg.client.batch_execute(sql))?),
        }
    }

    /// The first row, read by `f`; `None` when there is none.
    pub(crate) fn query_opt<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        let mut f = Some(f);
        let mut out = None;
        self.query_each(sql, params, |row| {
            if let Some(f) = f.take() {
                out = Some(f(row)?);
            }
            Ok(false)
        })?;
        Ok(out)
    }

    /// The first row, read by `f`; [`DbError::NoRow`] when there is none.
    pub(crate) fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        f: impl FnOnce(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, f)?.ok_or(DbError::NoRow)
    }

    /// Every row, each read by `f`.
    pub(crate) fn query_vec<T>(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let mut out = Vec::new();
        self.query_each(sql, params, |row| {
            out.push(f(row)?);
            Ok(true)
        })?;
        Ok(out)
    }

    /// Calls `f` with each row until it returns `false`. On SQLite the rows
    /// are read one at a time; on PostgreSQL the result is read whole
    /// first, so `f` may query the store itself.
    pub(crate) fn query_each(
        &self,
        sql: &str,
        params: &[&dyn Param],
        mut f: impl FnMut(&Row<'_>) -> Result<bool, DbError>,
    ) -> Result<(), DbError> {
        match &self.backend {
            Backend::Sqlite(c) => {
                let mut statement = c.prepare_cached(sql)?;
                let mut rows = statement.query(rusqlite::params_from_iter(
                    params.iter().map(|p| *p as &dyn rusqlite::ToSql),
                ))?;
                while let Some(row) = rows.next()? {
                    if !f(&Row::Sqlite(row))? {
                        break;
                    }
                }
                Ok(())
            }
            Backend::Postgres(pg) => {
                let statement = Self::pg_statement(pg, sql)?;
                let rows = futures::executor::block_on(
                    pg.client.query(&statement, &Self::pg_params(params)),
                )?;
                for row in &rows {
                    if !f(&Row::Postgres(row))? {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    /// Whether a transaction is open.
    pub(crate) fn in_transaction(&self) -> bool {
        match &self.backend {
            Backend::Sqlite(c) => !c.is_autocommit(),
            Backend::Postgres(pg) => pg.in_transaction.get(),
        }
    }

    /// Opens a transaction.
    pub(crate) fn begin(&self) -> Result<(), DbError> {
        self.batch("BEGIN")?;
        if let Backend::Postgres(pg) = &self.backend {
            pg.in_transaction.set(true);
        }
        Ok(())
    }

    /// Commits the open transaction.
    pub(crate) fn commit(&self) -> Result<(), DbError> {
        if let Backend::Postgres(pg) = &self.backend {
            pg.in_transaction.set(false);
        }
        self.batch("COMMIT")
    }

    /// Rolls the open transaction back.
    pub(crate) fn rollback(&self) -> Result<(), DbError> {
        if let Backend::Postgres(pg) = &self.backend {
            pg.in_transaction.set(false);
        }
        self.batch("ROLLBACK")
    }
}

#[cfg(test)]
mod tests {
    use super::renumbered;

    #[test]
    fn parameters_are_renumbered_outside_quotes() {
        assert_eq!(
            renumbered("SELECT ?1, '?2' FROM t WHERE a = ?12"),
            "SELECT $1, '?2' FROM t WHERE a = $12"
        );
    }
}
