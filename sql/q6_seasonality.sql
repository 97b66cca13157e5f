-- Title: Seasonality of hits
-- Question: In which months of the year are hits released?
-- Definitions:
--   film: one per imdb_id; the Raw record with the newest ingested_at wins (ties: the newest
--     date folder). Lines without an imdb_id (e.g. errors) are not films.
--   unknown: a budget or revenue of 0 (or missing) means unknown, never zero.
--   roi: (revenue - budget) / budget, computed in double, defined only where both are known.
--   films: films with a ROI released in the month (month of release_date; films with an empty
--     or unparsable release_date are left out).
--   hit: a film with roi >= 1 (revenue at least twice the budget).
--   hit_rate: hits / films in double, NULL for a month without films.
-- Output: twelve rows, month 1 to 12, even for months without films.
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
        month(TRY_CAST(NULLIF(release_date, '') AS date)) AS release_month,
        CASE WHEN budget > 0 THEN budget END AS budget,
        CASE WHEN revenue > 0 THEN revenue END AS revenue
    FROM raw_films
    WHERE recency = 1
),

dated_films_with_roi AS (
    SELECT
        release_month,
        CAST(revenue - budget AS double) / CAST(budget AS double) AS roi
    FROM latest_films
    WHERE budget IS NOT NULL AND revenue IS NOT NULL AND release_month IS NOT NULL
),

films_by_month AS (
    SELECT
        release_month,
        count(*) AS films,
        count_if(roi >= 1) AS hits
    FROM dated_films_with_roi
    GROUP BY release_month
),

calendar_months AS (
    SELECT month
    FROM (VALUES (1), (2), (3), (4), (5), (6), (7), (8), (9), (10), (11), (12)) AS months (month)
)

SELECT
    c.month,
    coalesce(f.hits, 0) AS hits,
    coalesce(f.films, 0) AS films,
    CAST(f.hits AS double) / CAST(f.films AS double) AS hit_rate
FROM calendar_months AS c
LEFT JOIN films_by_month AS f ON f.release_month = c.month
ORDER BY c.month ASC
