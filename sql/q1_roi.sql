-- Title: Return on investment per film
-- Question: Which films returned the most money per dollar of budget?
-- Definitions:
--   film: one per imdb_id; the Raw record with the newest ingested_at wins (ties: the newest
--     date folder). Lines without an imdb_id (e.g. errors) are not films.
--   unknown: a budget or revenue of 0 (or missing) means unknown, never zero.
--   roi: (revenue - budget) / budget, computed in double, defined only where both are known.
-- Output: one row per film with a ROI; roi desc, then imdb_id asc.
WITH raw_films AS (
    SELECT
        imdb_id,
        title,
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
        title,
        CASE WHEN budget > 0 THEN budget END AS budget,
        CASE WHEN revenue > 0 THEN revenue END AS revenue
    FROM raw_films
    WHERE recency = 1
),

films_with_roi AS (
    SELECT
        imdb_id,
        title,
        budget,
        revenue,
        CAST(revenue - budget AS double) / CAST(budget AS double) AS roi
    FROM latest_films
    WHERE budget IS NOT NULL AND revenue IS NOT NULL
)

SELECT imdb_id, title, budget, revenue, roi
FROM films_with_roi
ORDER BY roi DESC, imdb_id ASC
