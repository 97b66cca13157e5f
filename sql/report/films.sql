-- Title: Films of the report's film-level views
-- Question: Which films do the report's film-level views draw (the ROI distribution, budget
--   against revenue, critics against popularity, the months and the gems), with only the
--   columns those views show or filter on?
-- Definitions:
--   film: one row of refined_film_facts (sql/refined/film_facts.sql): one per enriched imdb_id.
--   population: films with a ROI (q1, q3, q6, q7) or with votes, a vote_average and a
--     popularity (q5, as q5_critics_vs_popularity.sql counts them).
--   genres: the film's genres joined by '|' (a string, so both engines hand it over alike).
-- Output: one row per film of the population; imdb_id asc. Not a named query: the report runs
--   it beside the seven (movielake.analysis.report.collect) and caps what it embeds.
SELECT
    imdb_id,
    title,
    release_year,
    decade,
    release_month,
    array_join(genres, '|') AS genres,
    budget,
    revenue,
    roi,
    vote_average,
    vote_count,
    popularity
FROM refined_film_facts
WHERE
    roi IS NOT NULL
    OR (vote_count > 0 AND vote_average IS NOT NULL AND popularity IS NOT NULL)
ORDER BY imdb_id ASC
