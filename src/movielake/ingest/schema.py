"""The PB CSV schemas, one per entity: the exact header a file must start with.

Kept here, with no imports, so the CSV Lambda zip (which does not ship ``synthetic.py``)
validates against the same columns the synthetic generator writes.
"""

from __future__ import annotations

DELIMITER = "|"
NULL = r"\N"

MOVIE_COLUMNS = (
    "id",
    "tituloPincipal",
    "tituloOriginal",
    "anoLancamento",
    "tempoMinutos",
    "genero",
    "notaMedia",
    "numeroVotos",
    "generoArtista",
    "personagem",
    "nomeArtista",
    "anoNascimento",
    "anoFalecimento",
    "profissao",
    "titulosMaisConhecidos",
)
# Series add the year they ended right after the year they started.
SERIES_COLUMNS = (*MOVIE_COLUMNS[:4], "anoTermino", *MOVIE_COLUMNS[4:])

SCHEMAS: dict[str, tuple[str, ...]] = {"Movies": MOVIE_COLUMNS, "Series": SERIES_COLUMNS}
