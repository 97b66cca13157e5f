-- Title: ROI by decade of release
-- Question: Has the return on investment of films changed from decade to decade?
-- Definitions:
--   film: one per imdb_id; the Raw record with the newest ingested_at wins (ties: the newest
--     date folder). Lines without an imdb_id (e.g. errors) are not films.
--   unknown: a budget or revenue of 0 (or missing) means unknown, never zero.
--   roi: (revenue - budget) / budget, computed in double, defined only where both are known.
--   decade: the release year with its last digit set to 0 (1999 -> 1990), by integer
--     division; films with an empty or unparsable release_date are left out.
-- Output: one row per decade that has films with a ROI; decade asc.
WITH raw_films AS (
    SELECT
        imdb_id,
        release_date,
        budget,
        revenue,
        row_number() OVER (
            PARTITION BY imdb_id
            ORDER BY ingested_at DESC NULLS LAST, partition_0 DESC, partition_1 DESC, partition_2 DESC
        ) AS recency
    FROM tmdb_movies
    WHERE imdb_id IS NOT NULL AND imdb_id <> ''
),

latest_films AS (
    SELECT
        imdb_id,
        year(TRY_CAST(NULLIF(release_date, '') AS date)) AS release_year,
        CASE WHEN budget > 0 THEN budget END AS budget,
        CASE WHEN revenue > 0 THEN revenue END AS revenue
    FROM raw_films
    WHERE recency = 1
),

dated_films_with_roi AS (
    SELECT
        imdb_id,
        release_year / 10 * 10 AS decade,
        CAST(revenue - budget AS double) / CAST(budget AS double) AS roi
    FROM latest_films
    WHERE budget IS NOT NULL AND revenue IS NOT NULL AND release_year IS NOT NULL
)

SELECT
    decade,
    count(*) AS films,
    avg(roi) AS avg_roi,
    min(roi) AS min_roi,
    max(roi) AS max_roi
FROM dated_films_with_roi
GROUP BY decade
ORDER BY decade ASC
