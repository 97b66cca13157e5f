-- Title: Hidden gems
-- Question: Which films made a large return while few people voted for them?
-- Definitions:
--   film: one per imdb_id; the Raw record with the newest ingested_at wins (ties: the newest
--     date folder). Lines without an imdb_id (e.g. errors) are not films.
--   unknown: a budget or revenue of 0 (or missing) means unknown, never zero.
--   roi: (revenue - budget) / budget, computed in double, defined only where both are known.
--   population: films with a ROI and a vote_count.
--   percentile: exact nearest-rank percentile over the population. P(p) is the k-th smallest
--     value with k = ceil(p * n / 100), found in integers as the value of the first row number
--     rn with 100 * rn >= p * n (approx_percentile is approximate, hence not used).
--   hidden gem: vote_count < P25(vote_count) and roi > P90(roi), both strict.
-- Output: one row per hidden gem; roi desc, then imdb_id asc; the two thresholds on every row.
WITH raw_films AS (
    SELECT
        imdb_id,
        title,
        budget,
        revenue,
        vote_count,
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
        vote_count,
        CASE WHEN budget > 0 THEN budget END AS budget,
        CASE WHEN revenue > 0 THEN revenue END AS revenue
    FROM raw_films
    WHERE recency = 1
),

films_with_roi AS (
    SELECT
        imdb_id,
        title,
        vote_count,
        CAST(revenue - budget AS double) / CAST(budget AS double) AS roi
    FROM latest_films
    WHERE budget IS NOT NULL AND revenue IS NOT NULL AND vote_count IS NOT NULL
),

positioned_films AS (
    SELECT
        vote_count,
        roi,
        row_number() OVER (ORDER BY vote_count ASC) AS vote_count_position,
        row_number() OVER (ORDER BY roi ASC) AS roi_position,
        count(*) OVER () AS population
    FROM films_with_roi
),

thresholds AS (
    SELECT
        min(CASE WHEN 100 * vote_count_position >= 25 * population THEN vote_count END) AS vote_count_p25,
        min(CASE WHEN 100 * roi_position >= 90 * population THEN roi END) AS roi_p90
    FROM positioned_films
)

SELECT
    f.imdb_id,
    f.title,
    f.vote_count,
    f.roi,
    t.vote_count_p25,
    t.roi_p90
FROM films_with_roi AS f
CROSS JOIN thresholds AS t
WHERE f.vote_count < t.vote_count_p25 AND f.roi > t.roi_p90
ORDER BY f.roi DESC, f.imdb_id ASC
