-- Title: Refined film facts
-- Question: What are each enriched film's financials, dates and audience figures, ready to
--   aggregate?
-- Grain: one row per imdb_id that TMDB enriched (trusted_films.enriched).
-- Sources: trusted_films.
-- Definitions:
--   unknown: budget and revenue are NULL when unknown (Trusted turned TMDB's 0 into NULL).
--   roi: (revenue - budget) / budget, computed in double, NULL unless both are known.
--   is_hit: roi >= 1 (revenue at least twice the budget); NULL without a ROI.
--   release_year, release_month: parts of release_date (NULL without a release date).
--   decade: the release year with its last digit set to 0 (1999 -> 1990), by integer division.
--   last_fetched_on: the run date of the film's newest TMDB record (when it was last fetched or
--     refreshed); previous_fetched_on: of the record before it (NULL when fetched once).
--   previous_budget, previous_revenue, previous_vote_count, previous_roi: the same figures at
--     the previous fetch (NULL when fetched once), so a question can tell what a refresh moved.
-- Layout: unpartitioned, one Parquet object per refine: every question reads the whole table
--   (none filters on a column), so partitions would only add objects to list and open.
WITH enriched_films AS (
    SELECT
        imdb_id,
        title,
        release_date,
        year(release_date) AS release_year,
        month(release_date) AS release_month,
        runtime,
        genres,
        budget,
        revenue,
        popularity,
        vote_average,
        vote_count,
        imdb_rating,
        imdb_votes,
        fetched_on AS last_fetched_on,
        previous_fetched_on,
        previous_budget,
        previous_revenue,
        previous_vote_count
    FROM trusted_films
    WHERE enriched
),

films_with_roi AS (
    SELECT
        *,
        CAST(revenue - budget AS double) / CAST(budget AS double) AS roi,
        CAST(previous_revenue - previous_budget AS double) / CAST(previous_budget AS double) AS previous_roi
    FROM enriched_films
)

SELECT
    imdb_id,
    title,
    release_date,
    release_year,
    release_month,
    release_year / 10 * 10 AS decade,
    runtime,
    genres,
    budget,
    revenue,
    roi,
    roi >= 1 AS is_hit,
    popularity,
    vote_average,
    vote_count,
    imdb_rating,
    imdb_votes,
    last_fetched_on,
    previous_fetched_on,
    previous_budget,
    previous_revenue,
    previous_vote_count,
    previous_roi
FROM films_with_roi
