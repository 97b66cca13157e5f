-- Title: ROI by decade of release
-- Question: Has the return on investment of films changed from decade to decade?
-- Definitions (refined_film_facts, sql/refined/film_facts.sql):
--   roi: (revenue - budget) / budget in double, NULL unless both are known (0 is unknown).
--   decade: the release year with its last digit set to 0 (1999 -> 1990); films without a
--     valid release date have none and are left out.
-- Output: one row per decade that has films with a ROI; decade asc.
SELECT
    decade,
    count(*) AS films,
    avg(roi) AS avg_roi,
    min(roi) AS min_roi,
    max(roi) AS max_roi
FROM refined_film_facts
WHERE roi IS NOT NULL AND decade IS NOT NULL
GROUP BY decade
ORDER BY decade ASC
