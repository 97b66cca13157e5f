-- Title: Trusted film artists
-- Question: Who worked on each film, in which role and as which character?
-- Grain: one row per distinct (imdb_id, artist, role, character) of the movies CSV.
-- Sources: csv_movies (Raw IMDb CSV rows, one per film x artist, possibly in several date
--   folders: a row repeated across days or copies counts once).
-- Definitions:
--   artist: nomeartista; role: profissao; character: personagem (NULL for crew).
--   unknown: '\N' (null in the CSV SerDe) and empty strings are NULL; rows without an id or
--     an artist name are not film artists (the refine manifest counts them as dropped).
--   gender, birth_year, death_year: the artist's CSV attributes; when copies disagree, the
--     greatest value (a deterministic pick).
WITH cleaned_rows AS (
    SELECT
        NULLIF(id, '') AS imdb_id,
        NULLIF(nomeartista, '') AS artist,
        NULLIF(profissao, '') AS role,
        NULLIF(personagem, '') AS character,
        NULLIF(generoartista, '') AS gender,
        anonascimento AS birth_year,
        anofalecimento AS death_year
    FROM csv_movies
)

SELECT
    imdb_id,
    artist,
    role,
    character,
    max(gender) AS gender,
    max(birth_year) AS birth_year,
    max(death_year) AS death_year
FROM cleaned_rows
WHERE imdb_id IS NOT NULL AND artist IS NOT NULL
GROUP BY imdb_id, artist, role, character
