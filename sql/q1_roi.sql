-- Title: Return on investment per film
-- Question: Which films returned the most money per dollar of budget?
-- Definitions (refined_film_facts, sql/refined/film_facts.sql):
--   film: one per imdb_id that TMDB enriched, its newest record (Trusted deduplicates).
--   roi: (revenue - budget) / budget in double, NULL unless both are known (0 is unknown).
-- Output: one row per film with a ROI; roi desc, then imdb_id asc.
SELECT imdb_id, title, budget, revenue, roi
FROM refined_film_facts
WHERE roi IS NOT NULL
ORDER BY roi DESC, imdb_id ASC
