-- Title: What moved since the last run
-- Question: Which films did the last TMDB run refresh, which answers did that move, and which
--   films gained or lost their hidden-gem status?
-- Definitions:
--   film: one row of refined_film_facts (one per enriched imdb_id).
--   last run: the newest run date any film was fetched on (max last_fetched_on).
--   refreshed: a film whose newest record is from the last run and that had one before it
--     (previous_fetched_on is not NULL).
--   before: for a refreshed film its figures at the previous fetch (previous_*); for any other
--     film its current ones (the last run did not touch it).
--   moved: a refreshed film whose revenue, budget, vote_count or ROI differs from before (NULL
--     and a value differ; two NULLs do not).
--   hidden gem: q7's definition (sql/q7_hidden_gems.sql), vote_count < P25(vote_count) and
--     roi > P90(roi), exact nearest-rank percentiles over the films with both; was_gem applies
--     it to the figures before, is_gem to the current ones. A film can gain or lose the status
--     without being refreshed: the thresholds move with the others.
-- Output: one row per film the last run refreshed or whose gem status changed; gem changes
--   first, then the films that moved, then imdb_id.
WITH last_run AS (
    SELECT max(last_fetched_on) AS run_date
    FROM refined_film_facts
),

films_then_and_now AS (
    SELECT
        f.imdb_id,
        f.title,
        f.last_fetched_on,
        f.previous_fetched_on,
        coalesce(f.last_fetched_on = r.run_date AND f.previous_fetched_on IS NOT NULL, false) AS refreshed,
        f.budget,
        f.revenue,
        f.vote_count,
        f.roi,
        CASE WHEN f.last_fetched_on = r.run_date AND f.previous_fetched_on IS NOT NULL
            THEN f.previous_budget ELSE f.budget END AS budget_before,
        CASE WHEN f.last_fetched_on = r.run_date AND f.previous_fetched_on IS NOT NULL
            THEN f.previous_revenue ELSE f.revenue END AS revenue_before,
        CASE WHEN f.last_fetched_on = r.run_date AND f.previous_fetched_on IS NOT NULL
            THEN f.previous_vote_count ELSE f.vote_count END AS vote_count_before,
        CASE WHEN f.last_fetched_on = r.run_date AND f.previous_fetched_on IS NOT NULL
            THEN f.previous_roi ELSE f.roi END AS roi_before
    FROM refined_film_facts AS f
    CROSS JOIN last_run AS r
),

positioned_now AS (
    SELECT
        vote_count,
        roi,
        row_number() OVER (ORDER BY vote_count ASC) AS vote_count_position,
        row_number() OVER (ORDER BY roi ASC) AS roi_position,
        count(*) OVER () AS population
    FROM films_then_and_now
    WHERE roi IS NOT NULL AND vote_count IS NOT NULL
),

positioned_before AS (
    SELECT
        vote_count_before AS vote_count,
        roi_before AS roi,
        row_number() OVER (ORDER BY vote_count_before ASC) AS vote_count_position,
        row_number() OVER (ORDER BY roi_before ASC) AS roi_position,
        count(*) OVER () AS population
    FROM films_then_and_now
    WHERE roi_before IS NOT NULL AND vote_count_before IS NOT NULL
),

thresholds_now AS (
    SELECT
        min(CASE WHEN 100 * vote_count_position >= 25 * population THEN vote_count END) AS vote_count_p25,
        min(CASE WHEN 100 * roi_position >= 90 * population THEN roi END) AS roi_p90
    FROM positioned_now
),

thresholds_before AS (
    SELECT
        min(CASE WHEN 100 * vote_count_position >= 25 * population THEN vote_count END) AS vote_count_p25,
        min(CASE WHEN 100 * roi_position >= 90 * population THEN roi END) AS roi_p90
    FROM positioned_before
),

films_with_status AS (
    SELECT
        f.*,
        coalesce(f.vote_count < n.vote_count_p25 AND f.roi > n.roi_p90, false) AS is_gem,
        coalesce(f.vote_count_before < b.vote_count_p25 AND f.roi_before > b.roi_p90, false) AS was_gem,
        f.refreshed AND (
            f.revenue IS DISTINCT FROM f.revenue_before
            OR f.budget IS DISTINCT FROM f.budget_before
            OR f.vote_count IS DISTINCT FROM f.vote_count_before
            OR f.roi IS DISTINCT FROM f.roi_before
        ) AS moved
    FROM films_then_and_now AS f
    CROSS JOIN thresholds_now AS n
    CROSS JOIN thresholds_before AS b
)

SELECT
    imdb_id,
    title,
    last_fetched_on,
    previous_fetched_on,
    refreshed,
    moved,
    revenue_before,
    revenue,
    vote_count_before,
    vote_count,
    roi_before,
    roi,
    was_gem,
    is_gem
FROM films_with_status
WHERE refreshed OR was_gem <> is_gem
ORDER BY was_gem <> is_gem DESC, moved DESC, imdb_id ASC
