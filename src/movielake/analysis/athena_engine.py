"""Running the SQL files on Athena, through awswrangler.

Queries run in the configured workgroup against the Glue database, with the plain (non-CTAS)
approach so nothing but the result lands in the results bucket.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from movielake import aws
from movielake.analysis.queries import NamedQuery
from movielake.analysis.results import QueryResult
from movielake.config import Settings

if TYPE_CHECKING:
    import pandas as pd

# Seconds between awswrangler's GetQueryExecution calls while a query runs (its default is
# 1 s): each of the seven questions takes well under a second on Refined, so a 1 s poll was
# most of `query --all`'s wall time.
POLL_SECONDS = 0.2


class AthenaEngine:
    """Athena in the configured workgroup and Glue database."""

    def __init__(self, settings: Settings, *, boto3_session: Any = None) -> None:
        settings.require("glue_database", "athena_workgroup")
        self.settings = settings
        self._session = boto3_session or aws.session(settings)

    def execute(self, sql: str) -> pd.DataFrame:
        """Run one Athena SQL statement and return its result."""
        import awswrangler as wr

        if self.settings.endpoint_url:
            wr.config.athena_endpoint_url = self.settings.endpoint_url
            wr.config.s3_endpoint_url = self.settings.endpoint_url
            wr.config.glue_endpoint_url = self.settings.endpoint_url
        return wr.athena.read_sql_query(
            sql,
            database=self.settings.glue_database,
            workgroup=self.settings.athena_workgroup,
            ctas_approach=False,
            athena_query_wait_polling_delay=POLL_SECONDS,
            boto3_session=self._session,
        )

    def run(self, query: NamedQuery) -> pd.DataFrame:
        """Run one named query."""
        return self.execute(query.statement)

    def fetch(self, query: NamedQuery) -> QueryResult:
        """Run one named query and return its rows as Python values."""
        return QueryResult.from_frame(self.run(query))

    def close(self) -> None:
        """Nothing to release: Athena sessions are per query."""

    def __enter__(self) -> AthenaEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
