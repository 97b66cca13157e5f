"""The Glue catalog and S3 as a query reads them, with the caller's credentials.

Athena plans a query with the caller's permissions: it resolves the database
(``glue:GetDatabase``), each table it reads (``glue:GetTable``) and a partitioned table's
partitions (``glue:GetPartitions``), lists the locations (``s3:ListBucket``) and reads the
objects (``s3:GetObject``, ``kms:Decrypt`` for SSE-KMS). Here the same calls go to the local
moto server signed with the caller's keys, so its IAM enforcement refuses what AWS would.

Each table becomes a DuckDB view over its objects, built by the local engine's reader
(:func:`movielake.analysis.duckdb_engine.source_select`): the view reads only what the query
touches (a Parquet table's column chunks, not its whole files), as Athena's scan does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlglot
from botocore.exceptions import ClientError
from sqlglot import exp

from movielake.analysis.duckdb_engine import CatalogTable, source_select, table_files, table_from_glue
from movielake.analysis.translate import SOURCE_DIALECT
from movielake.local.athena.statements import QueryError, position, qualified

DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException"})


def permission_error(exc: ClientError, service: str = "AWSGlue") -> QueryError:
    """A catalog refusal as Athena reports it."""
    error = exc.response.get("Error", {})
    return QueryError(
        f"Insufficient permissions to execute the query. {error.get('Message', '')} "
        f"(Service: {service}; Error Code: {error.get('Code')})",
        error_type=1100,
    )


@dataclass
class CatalogReader:
    """The query's database and tables, read as the caller."""

    glue: Any
    s3: Any
    database: str

    def check_database(self, name: str, where: str = "1:1") -> None:
        """SCHEMA_NOT_FOUND unless the database exists (and the caller may read it)."""
        try:
            self.glue.get_database(Name=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "EntityNotFoundException":
                raise QueryError(f"SCHEMA_NOT_FOUND: line {where}: Schema '{name}' does not exist") from exc
            raise self._refused(exc) from exc

    def table(self, database: str, name: str) -> CatalogTable | None:
        """The Glue table, or None when there is none."""
        try:
            return table_from_glue(self.glue.get_table(DatabaseName=database, Name=name)["Table"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "EntityNotFoundException":
                return None
            raise self._refused(exc) from exc

    def files(self, database: str, table: CatalogTable) -> dict[str, tuple[str, ...]]:
        """The objects Athena reads for the table (partitions from Glue, listings from S3)."""
        try:
            return table_files(self.s3, self.glue, database, table)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in DENIED_CODES and exc.operation_name == "ListObjectsV2":
                raise QueryError(f"Permission denied on S3 path: {table.location}", error_type=1100) from exc
            raise self._refused(exc) from exc

    @staticmethod
    def _refused(exc: ClientError) -> Exception:
        if exc.response["Error"]["Code"] in DENIED_CODES:
            return permission_error(exc)
        return exc

    def bind(self, sql: str, connection: Any) -> tuple[str, dict[str, dict[str, str]]]:
        """Create a DuckDB view for every table ``sql`` reads; the SQL with tables renamed to
        their views and table -> column -> DuckDB type, for the translation.

        A table of the query's database keeps its name; one of another database (``db.t``)
        is read through a view named ``db__t``. A table missing from the catalog fails as
        Athena's TABLE_NOT_FOUND, at its place in the query.
        """
        expression = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
        ctes = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
        schema: dict[str, dict[str, str]] = {}
        checked: set[str] = set()
        for node in list(expression.find_all(exp.Table)):
            name = node.name.lower()
            if not name or (name in ctes and not node.db):
                continue
            database = node.db.lower() or self.database
            where = position(node.args.get("catalog") or node.args.get("db") or node)  # the name's start
            if database not in checked:
                self.check_database(database, where)
                checked.add(database)
            view = name if database == self.database else f"{database}__{name}"
            if view not in schema:
                table = self.table(database, name)
                if table is None:
                    raise QueryError(
                        f"TABLE_NOT_FOUND: line {where}: Table '{qualified(database, name)}' does not exist",
                        error_type=1301,
                    )
                select = source_select(table, self.files(database, table))
                connection.execute(f'CREATE OR REPLACE TEMP VIEW "{view}" AS {select}')
                schema[view] = table.duckdb_columns()
            alias = node.alias or name
            node.set("catalog", None)
            node.set("db", None)
            node.set("this", exp.to_identifier(view, quoted=True))
            if view != name or node.alias:
                node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        return expression.sql(dialect=SOURCE_DIALECT), schema
