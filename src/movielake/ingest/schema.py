"""The PB CSV schemas, one per entity: the exact header a file must start with.

Kept here, with no imports, so the CSV Lambda zip (which does not ship ``movielake/local/synthetic.py``)
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

# The numeric columns and what each must hold (or ``\N``): a value of another shape would
# turn Athena's column into NULLs, or the crawler's type into ``string``, for every row.
WHOLE_NUMBER, DECIMAL = "whole number", "decimal number"
NUMERIC_COLUMNS: dict[str, str] = {
    "anoLancamento": WHOLE_NUMBER,
    "anoTermino": WHOLE_NUMBER,
    "tempoMinutos": WHOLE_NUMBER,
    "notaMedia": DECIMAL,
    "numeroVotos": WHOLE_NUMBER,
    "anoNascimento": WHOLE_NUMBER,
    "anoFalecimento": WHOLE_NUMBER,
}
