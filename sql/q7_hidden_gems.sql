-- Title: Hidden gems
-- Question: Which films made a large return while few people voted for them?
-- Definitions:
--   film: one row of refined_film_facts (sql/refined/film_facts.sql): one per enriched imdb_id.
--   roi: (revenue - budget) / budget in double, NULL unless both are known (0 is unknown).
--   population: films with a ROI and a vote_count.
--   percentile: exact nearest-rank percentile over the population. P(p) is the k-th smallest
--     value with k = ceil(p * n / 100), found in integers as the value of the first row number
--     rn with 100 * rn >= p * n (approx_percentile is approximate, hence not used).
--   hidden gem: vote_count < P25(vote_count) and roi > P90(roi), both strict.
-- Output: one row per hidden gem; roi desc, then imdb_id asc; the two thresholds on every row.
WITH films_with_roi AS (
    SELECT imdb_id, title, vote_count, roi
    FROM refined_film_facts
    WHERE roi IS NOT NULL AND vote_count IS NOT NULL
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
