-- Title: Budget versus revenue
-- Question: Do bigger budgets bring bigger revenues?
-- Definitions:
--   film: one row of refined_film_facts (sql/refined/film_facts.sql): one per enriched imdb_id.
--   unknown: a budget or revenue of 0 is unknown (NULL since Trusted), never zero.
--   population: films with a ROI, i.e. with both budget and revenue known.
--   corr_budget_revenue: Pearson correlation of budget and revenue over the population; the
--     same value is repeated on every row so one result set carries both answers.
--   budget_quintile: ntile(5) over the population ordered by budget, then imdb_id (equal
--     budgets may straddle two quintiles; quintile sizes differ by at most one film, the
--     lower quintiles taking the extra films).
--   median_revenue: exact median of the quintile (the middle value, or the mean of the two
--     middle values), from row numbers rather than approx_percentile so it is deterministic.
-- Output: one row per budget quintile (1 = smallest budgets); budget_quintile asc.
WITH films_with_roi AS (
    SELECT imdb_id, budget, revenue, roi
    FROM refined_film_facts
    WHERE roi IS NOT NULL
),

overall_correlation AS (
    SELECT
        corr(CAST(budget AS double), CAST(revenue AS double)) AS corr_budget_revenue,
        count(*) AS films_with_roi
    FROM films_with_roi
),

films_by_quintile AS (
    SELECT
        imdb_id,
        budget,
        revenue,
        roi,
        ntile(5) OVER (ORDER BY budget ASC, imdb_id ASC) AS budget_quintile
    FROM films_with_roi
),

revenue_ranks_in_quintile AS (
    SELECT
        budget_quintile,
        revenue,
        row_number() OVER (PARTITION BY budget_quintile ORDER BY revenue ASC, imdb_id ASC) AS revenue_rank,
        count(*) OVER (PARTITION BY budget_quintile) AS quintile_films
    FROM films_by_quintile
),

median_revenue_by_quintile AS (
    -- the middle row (odd count) or the two middle rows (even count): 2 * rank in {n, n+1, n+2}
    SELECT
        budget_quintile,
        avg(CAST(revenue AS double)) AS median_revenue
    FROM revenue_ranks_in_quintile
    WHERE 2 * revenue_rank IN (quintile_films, quintile_films + 1, quintile_films + 2)
    GROUP BY budget_quintile
),

quintile_summary AS (
    SELECT
        budget_quintile,
        count(*) AS films,
        min(budget) AS budget_min,
        max(budget) AS budget_max,
        avg(CAST(revenue AS double)) AS avg_revenue,
        avg(roi) AS avg_roi
    FROM films_by_quintile
    GROUP BY budget_quintile
)

SELECT
    q.budget_quintile,
    q.films,
    q.budget_min,
    q.budget_max,
    q.avg_revenue,
    m.median_revenue,
    q.avg_roi,
    c.corr_budget_revenue,
    c.films_with_roi
FROM quintile_summary AS q
INNER JOIN median_revenue_by_quintile AS m ON m.budget_quintile = q.budget_quintile
CROSS JOIN overall_correlation AS c
ORDER BY q.budget_quintile ASC
