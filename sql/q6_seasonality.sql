-- Title: Seasonality of hits
-- Question: In which months of the year are hits released?
-- Definitions:
--   film: one row of refined_film_facts (sql/refined/film_facts.sql): one per enriched imdb_id.
--   roi: (revenue - budget) / budget in double, NULL unless both are known (0 is unknown).
--   films: films with a ROI released in the month (month of release_date; films with an empty
--     or unparsable release_date are left out).
--   hit: is_hit, a film with roi >= 1 (revenue at least twice the budget).
--   hit_rate: hits / films in double, NULL for a month without films.
-- Output: twelve rows, month 1 to 12, even for months without films.
WITH films_by_month AS (
    SELECT
        release_month,
        count(*) AS films,
        count_if(is_hit) AS hits
    FROM refined_film_facts
    WHERE roi IS NOT NULL AND release_month IS NOT NULL
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
